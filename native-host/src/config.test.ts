import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_INBOUND_BYTES } from './protocol/frame-decoder.js';
import { DEFAULT_RENEWAL_RECOVERY_DELAY_MS } from './recovery/recovery.js';
import { DEFAULT_API_PORT } from '../../shared/api.js';
import { JOB_DEFAULTS_CONFIG, loadHostConfig } from './config.js';

describe('loadHostConfig', () => {
  it('uses the defaults when nothing is set', () => {
    expect(loadHostConfig({})).toEqual({ apiPort: DEFAULT_API_PORT, maxInboundBytes: DEFAULT_MAX_INBOUND_BYTES, renewalRecoveryDelayMs: DEFAULT_RENEWAL_RECOVERY_DELAY_MS, jobs: JOB_DEFAULTS_CONFIG });
    expect(DEFAULT_API_PORT).toBe(7311);
  });

  it('reads each variable, port 0 included', () => {
    expect(
      loadHostConfig({
        CONDUCTOR_FX_API_PORT: '0',
        CONDUCTOR_FX_MAX_INBOUND_BYTES: '1024',
        CONDUCTOR_FX_RENEWAL_RECOVERY_DELAY_MS: '5000',
        CONDUCTOR_FX_JOB_RESULT_MAX_BYTES: '2048',
        CONDUCTOR_FX_JOB_RETENTION_MS: '86400000',
        CONDUCTOR_FX_DB_MAX_BYTES: '10485760',
      }),
    ).toEqual({ apiPort: 0, maxInboundBytes: 1024, renewalRecoveryDelayMs: 5000, jobs: { resultMaxBytes: 2048, retentionMs: 86_400_000, dbMaxBytes: 10_485_760 } });
  });

  it('names the variable of a malformed value', () => {
    for (const [name, value] of [['CONDUCTOR_FX_API_PORT', '70000'], ['CONDUCTOR_FX_API_PORT', 'abc'], ['CONDUCTOR_FX_MAX_INBOUND_BYTES', '0'], ['CONDUCTOR_FX_RENEWAL_RECOVERY_DELAY_MS', '1.5'], ['CONDUCTOR_FX_JOB_RESULT_MAX_BYTES', '10']]) {
      expect(() => loadHostConfig({ [name as string]: value })).toThrow(expect.objectContaining({ code: 'bad_payload', details: { variable: name } }));
    }
  });
});
