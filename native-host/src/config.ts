import { API_PORT_ENV, DEFAULT_API_PORT } from '../../shared/api.js';
import { ConductorError } from '../../shared/errors.js';
import { DEFAULT_MAX_INBOUND_BYTES } from './protocol/frame-decoder.js';
import type { JobsConfig } from './jobs/jobs-service.js';
import { DEFAULT_RENEWAL_RECOVERY_DELAY_MS } from './recovery/recovery.js';

/** The environment variables the host reads, besides the data dir (see data-dir.ts). */
export const CONFIG_ENV = {
  apiPort: API_PORT_ENV,
  maxInboundBytes: 'CONDUCTOR_FX_MAX_INBOUND_BYTES',
  renewalRecoveryDelayMs: 'CONDUCTOR_FX_RENEWAL_RECOVERY_DELAY_MS',
  jobResultMaxBytes: 'CONDUCTOR_FX_JOB_RESULT_MAX_BYTES',
  jobRetentionMs: 'CONDUCTOR_FX_JOB_RETENTION_MS',
  dbMaxBytes: 'CONDUCTOR_FX_DB_MAX_BYTES',
} as const;

/** Defaults of the jobs' tunables: a 1 MiB answer per job, 30 days, a 512 MiB DB (README "Jobs" says why). */
export const JOB_DEFAULTS_CONFIG = { resultMaxBytes: 1024 * 1024, retentionMs: 30 * 24 * 3_600_000, dbMaxBytes: 512 * 1024 * 1024 } as const;

/** The host's tunables. */
export interface HostConfig {
  /** 0 lets the OS pick a free port (tests). */
  apiPort: number;
  /** The largest inbound frame accepted; a larger declared length ends the host. */
  maxInboundBytes: number;
  renewalRecoveryDelayMs: number;
  /** Durable jobs: the answer size cap per job, the retention age and the DB size cap. */
  jobs: JobsConfig;
}

/** Reads the tunables from the environment; a malformed value is a ConductorError naming the variable. */
export function loadHostConfig(env: Readonly<Record<string, string | undefined>>): HostConfig {
  return {
    apiPort: readInt(env, CONFIG_ENV.apiPort, DEFAULT_API_PORT, 0, 65_535),
    maxInboundBytes: readInt(env, CONFIG_ENV.maxInboundBytes, DEFAULT_MAX_INBOUND_BYTES, 1, 2 ** 32 - 1),
    renewalRecoveryDelayMs: readInt(env, CONFIG_ENV.renewalRecoveryDelayMs, DEFAULT_RENEWAL_RECOVERY_DELAY_MS, 0, 7 * 24 * 3_600_000),
    jobs: {
      resultMaxBytes: readInt(env, CONFIG_ENV.jobResultMaxBytes, JOB_DEFAULTS_CONFIG.resultMaxBytes, 1_024, 64 * 1024 * 1024),
      retentionMs: readInt(env, CONFIG_ENV.jobRetentionMs, JOB_DEFAULTS_CONFIG.retentionMs, 60_000, 10 * 365 * 24 * 3_600_000),
      dbMaxBytes: readInt(env, CONFIG_ENV.dbMaxBytes, JOB_DEFAULTS_CONFIG.dbMaxBytes, 1024 * 1024, 2 ** 42),
    },
  };
}

function readInt(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConductorError('bad_payload', `${name} must be an integer from ${min} to ${max}, not "${raw}"`, { variable: name });
  }
  return value;
}
