import type { z } from 'zod';
import type { PolicyConfig } from '../../../shared/policy-config.js';
import {
  LoadedPolicyStateSchema,
  PersistedPlatformSchema,
  PersistedSystemSchema,
  PersistedTargetSchema,
  POLICY_STATE_VERSION,
  type PersistedPlatform,
  type PersistedSystem,
  type PersistedTarget,
} from '../../../shared/policy-state.js';
import { rateLimitFor } from './rate-window.js';
import type { PolicyLog } from './types.js';

/** Persisted state after validation and clamping: every entry well-formed and within today's limits. */
export interface RestoredState {
  targets: PersistedTarget[];
  platforms: PersistedPlatform[];
  system: PersistedSystem | null;
}

/**
 * Upgrades an entry of an older version by one step, keyed by the version it upgrades from.
 * Version 1 is the first, so none exist yet; a v2 adds `1: (raw) => …` here.
 */
const MIGRATIONS: Record<number, (raw: Record<string, unknown>) => Record<string, unknown>> = {};

/** Brings a raw entry to the current version, or says why it cannot be. */
export function migrateEntry(raw: unknown): { ok: true; entry: unknown } | { ok: false; reason: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'not an object' };
  let entry = raw as Record<string, unknown>;
  let version = entry.version;
  if (typeof version !== 'number' || !Number.isInteger(version)) return { ok: false, reason: 'no version' };
  if (version > POLICY_STATE_VERSION) return { ok: false, reason: `version ${version} is newer than ${POLICY_STATE_VERSION}` };
  while (version < POLICY_STATE_VERSION) {
    const step = MIGRATIONS[version];
    if (step === undefined) return { ok: false, reason: `no migration from version ${version}` };
    entry = step(entry);
    version = entry.version;
    if (typeof version !== 'number') return { ok: false, reason: 'migration lost the version' };
  }
  return { ok: true, entry };
}

/** The longest any circuit may legitimately stay open: its own cap or an honoured Retry-After. */
function maxOpenAheadMs(cfg: PolicyConfig): number {
  return Math.max(cfg.circuitBreaker.maxOpenMs, cfg.backoff.maxRetryAfterMs);
}

/** The longest any backoff may legitimately run: its own cap or an honoured Retry-After. */
function maxBackoffAheadMs(cfg: PolicyConfig): number {
  return Math.max(cfg.backoff.maxMs, cfg.backoff.maxRetryAfterMs);
}

const atMost = (value: number, max: number): number => (value > max ? max : value);

/**
 * Clamps a valid target to today's config at `now`: a half-open circuit becomes open-and-due (its
 * probe died with the process), deadlines beyond the maxima are cut to them, expired ones cleared.
 */
export function clampTarget(t: PersistedTarget, cfg: PolicyConfig, now: number): PersistedTarget {
  const out: PersistedTarget = { ...t, inFlight: t.inFlight.map((l) => ({ ...l, admittedAt: atMost(l.admittedAt, now), lastActivityAt: atMost(l.lastActivityAt, now) })) };
  if (out.circuitState === 'closed') out.circuitRetryAt = null;
  else if (out.circuitState === 'half_open') {
    out.circuitState = 'open';
    out.circuitRetryAt = now;
  } else out.circuitRetryAt = atMost(out.circuitRetryAt ?? now, now + maxOpenAheadMs(cfg));
  if (out.backoffUntil !== null) out.backoffUntil = out.backoffUntil <= now ? null : atMost(out.backoffUntil, now + maxBackoffAheadMs(cfg));
  out.lastBackoffMs = atMost(out.lastBackoffMs, cfg.backoff.maxMs);
  return out;
}

/** Clamps a valid platform window at `now`: keeps only dispatches inside today's window, none in the future. */
export function clampPlatform(p: PersistedPlatform, cfg: PolicyConfig, now: number): PersistedPlatform {
  const cut = now - rateLimitFor(cfg, p.platform).windowMs;
  const dispatches = p.dispatches
    .filter((t) => t > cut)
    .map((t) => atMost(t, now))
    .sort((a, b) => a - b);
  return { ...p, dispatches, lastDispatchAt: p.lastDispatchAt === null ? null : atMost(p.lastDispatchAt, now) };
}

function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** Validates one raw entry against its schema after migration; warns and returns null if it is unusable. */
function restoreEntry<T>(schema: z.ZodType<T>, raw: unknown, kind: string, index: number, log: PolicyLog | undefined): T | null {
  const migrated = migrateEntry(raw);
  if (!migrated.ok) {
    log?.warn('policy restore: dropped a stored entry', { kind, index, reason: migrated.reason });
    return null;
  }
  const parsed = schema.safeParse(migrated.entry);
  if (!parsed.success) {
    log?.warn('policy restore: dropped a corrupt stored entry', { kind, index, issues: issuesOf(parsed.error) });
    return null;
  }
  return parsed.data;
}

/**
 * Turns what `load()` returned into usable state: validates every entry (zod), migrates older
 * versions, clamps deadlines to the config at `now`, and drops (with a warning) whatever is corrupt
 * or unknown. Never throws: the worst case is the defaults.
 */
export function restoreState(loaded: unknown, cfg: PolicyConfig, now: number, log?: PolicyLog): RestoredState {
  const envelope = LoadedPolicyStateSchema.safeParse(loaded);
  if (!envelope.success) {
    log?.warn('policy restore: the stored state is unreadable; starting from the defaults', { issues: issuesOf(envelope.error) });
    return { targets: [], platforms: [], system: null };
  }
  const targets: PersistedTarget[] = [];
  envelope.data.targets.forEach((raw, i) => {
    const t = restoreEntry(PersistedTargetSchema, raw, 'target', i, log);
    if (t !== null) targets.push(clampTarget(t, cfg, now));
  });
  const platforms: PersistedPlatform[] = [];
  envelope.data.platforms.forEach((raw, i) => {
    const p = restoreEntry(PersistedPlatformSchema, raw, 'platform', i, log);
    if (p !== null) platforms.push(clampPlatform(p, cfg, now));
  });
  const system = envelope.data.system === null || envelope.data.system === undefined ? null : restoreEntry(PersistedSystemSchema, envelope.data.system, 'system', 0, log);
  return { targets, platforms, system };
}
