import type { z } from 'zod';
import { DEFAULT_CONTAINER } from '../../../shared/platforms.js';
import type { PolicyConfig } from '../../../shared/policy-config.js';
import {
  freshAccountFields,
  freshPace,
  LoadedPolicyStateSchema,
  PersistedAccountSchema,
  PersistedSystemSchema,
  PersistedTargetSchema,
  POLICY_STATE_VERSION,
  type PersistedAccount,
  type PersistedSystem,
  type PersistedTarget,
} from '../../../shared/policy-state.js';
import { rateLimitFor } from './rate-window.js';
import { mergeAccount } from './reconcile.js';
import type { PolicyLog } from './types.js';

/** Persisted state after validation and clamping: every entry well-formed and within today's limits. */
export interface RestoredState {
  targets: PersistedTarget[];
  accounts: PersistedAccount[];
  system: PersistedSystem | null;
}

type RawEntry = Record<string, unknown>;

/** The hold fields a version-1 target carried; from version 2 they live on the account. */
const V1_HOLD_KEYS = ['circuitState', 'consecutiveFailures', 'trips', 'circuitRetryAt', 'backoffUntil', 'lastBackoffMs'] as const;

/**
 * Upgrades an entry of an older version by one step, per kind, keyed by the version it upgrades
 * from. Version 2 made the account (platform + container) the unit of safety: a version-1 target
 * loses its holds (restoreState moves them to its platform's default-container account) and its
 * leases went out through the default container; a version-1 platform window is that account's.
 */
const MIGRATIONS: Record<'target' | 'account' | 'system', Record<number, (raw: RawEntry) => RawEntry>> = {
  target: {
    1: (raw) => {
      const out: RawEntry = { ...raw, version: 2 };
      for (const key of V1_HOLD_KEYS) delete out[key];
      out.inFlight = Array.isArray(raw.inFlight) ? raw.inFlight.map((l: unknown) => (typeof l === 'object' && l !== null ? { ...l, container: DEFAULT_CONTAINER } : l)) : raw.inFlight;
      return out;
    },
  },
  account: {
    1: (raw) => ({ ...freshAccountFields(), clients: [], ...raw, version: 2, container: DEFAULT_CONTAINER, pace: freshPace() }),
  },
  system: {
    1: (raw) => ({ ...raw, version: 2 }),
  },
};

/** Brings a raw entry of one kind to the current version, or says why it cannot be. */
export function migrateEntry(kind: keyof typeof MIGRATIONS, raw: unknown): { ok: true; entry: unknown } | { ok: false; reason: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'not an object' };
  let entry = raw as RawEntry;
  let version = entry.version;
  if (typeof version !== 'number' || !Number.isInteger(version)) return { ok: false, reason: 'no version' };
  if (version > POLICY_STATE_VERSION) return { ok: false, reason: `version ${version} is newer than ${POLICY_STATE_VERSION}` };
  while (version < POLICY_STATE_VERSION) {
    const step = MIGRATIONS[kind][version];
    if (step === undefined) return { ok: false, reason: `no migration from version ${version}` };
    entry = step(entry);
    version = entry.version;
    if (typeof version !== 'number') return { ok: false, reason: 'migration lost the version' };
  }
  return { ok: true, entry };
}

/**
 * The holds a version-1 target row carried, as a default-container account row of its platform
 * (merged, stricter winning, with that account's own row); null for any other row.
 */
function legacyHold(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || (raw as RawEntry).version !== 1) return null;
  const row = raw as RawEntry;
  const hold: RawEntry = { version: 1, platform: row.platform, dispatches: [], lastDispatchAt: null, lastError: row.lastError ?? null, clients: [row.clientId], updatedAt: row.updatedAt };
  for (const key of V1_HOLD_KEYS) hold[key] = row[key];
  return hold;
}

/** The longest any circuit may legitimately stay open: its own cap or an honoured Retry-After. */
function maxOpenAheadMs(cfg: PolicyConfig): number {
  return Math.max(cfg.circuitBreaker.maxOpenMs, cfg.backoff.maxRetryAfterMs);
}

/** The longest any hold may legitimately run: the backoff's cap, an honoured Retry-After, or the pace's slowest gap. */
function maxHoldAheadMs(cfg: PolicyConfig): number {
  return Math.max(cfg.backoff.maxMs, cfg.backoff.maxRetryAfterMs, cfg.pace.floorMs);
}

const atMost = (value: number, max: number): number => (value > max ? max : value);

/** Clamps a valid target to `now`: no in-flight lease from the future. */
export function clampTarget(t: PersistedTarget, now: number): PersistedTarget {
  return { ...t, inFlight: t.inFlight.map((l) => ({ ...l, admittedAt: atMost(l.admittedAt, now), lastActivityAt: atMost(l.lastActivityAt, now) })) };
}

/**
 * Clamps a valid account to today's config at `now`: only dispatches inside today's window and
 * none in the future; a half-open circuit becomes open-and-due (its probe died with the process);
 * deadlines beyond the maxima cut to them, expired ones cleared; the pace within today's floor.
 */
export function clampAccount(a: PersistedAccount, cfg: PolicyConfig, now: number): PersistedAccount {
  const cut = now - rateLimitFor(cfg, a.platform).windowMs;
  const out: PersistedAccount = {
    ...a,
    dispatches: a.dispatches
      .filter((t) => t > cut)
      .map((t) => atMost(t, now))
      .sort((x, y) => x - y),
    lastDispatchAt: a.lastDispatchAt === null ? null : atMost(a.lastDispatchAt, now),
    pace: {
      ...a.pace,
      intervalMs: a.pace.intervalMs === null ? null : atMost(a.pace.intervalMs, cfg.pace.floorMs),
      // Credit and evidence are never in the future (a clock set back would hold or inflate them).
      emptyAt: a.pace.emptyAt === null ? null : atMost(a.pace.emptyAt, now),
      successAt: a.pace.successAt.filter((t) => t <= now),
    },
  };
  if (out.circuitState === 'closed') out.circuitRetryAt = null;
  else if (out.circuitState === 'half_open') {
    out.circuitState = 'open';
    out.circuitRetryAt = now;
  } else out.circuitRetryAt = atMost(out.circuitRetryAt ?? now, now + maxOpenAheadMs(cfg));
  if (out.backoffUntil !== null) out.backoffUntil = out.backoffUntil <= now ? null : atMost(out.backoffUntil, now + maxHoldAheadMs(cfg));
  out.lastBackoffMs = atMost(out.lastBackoffMs, cfg.backoff.maxMs);
  return out;
}

function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** Validates one raw entry against its schema after migration; warns and returns null if it is unusable. */
function restoreEntry<T>(schema: z.ZodType<T>, raw: unknown, kind: keyof typeof MIGRATIONS, index: number, log: PolicyLog | undefined): T | null {
  const migrated = migrateEntry(kind, raw);
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
 * versions (a version-1 platform window and the holds of version-1 targets become the platform's
 * default-container account), clamps deadlines to the config at `now`, merges rows of one
 * account (stricter wins), and drops (with a warning) whatever is corrupt or unknown. Never
 * throws: the worst case is the defaults.
 */
export function restoreState(loaded: unknown, cfg: PolicyConfig, now: number, log?: PolicyLog): RestoredState {
  const envelope = LoadedPolicyStateSchema.safeParse(loaded);
  if (!envelope.success) {
    log?.warn('policy restore: the stored state is unreadable; starting from the defaults', { issues: issuesOf(envelope.error) });
    return { targets: [], accounts: [], system: null };
  }
  const targets: PersistedTarget[] = [];
  const rawAccounts: unknown[] = [...envelope.data.accounts, ...envelope.data.platforms];
  envelope.data.targets.forEach((raw, i) => {
    const hold = legacyHold(raw);
    if (hold !== null) rawAccounts.push(hold);
    const t = restoreEntry(PersistedTargetSchema, raw, 'target', i, log);
    if (t !== null) targets.push(clampTarget(t, now));
  });
  const accounts = new Map<string, PersistedAccount>();
  rawAccounts.forEach((raw, i) => {
    const a = restoreEntry(PersistedAccountSchema, raw, 'account', i, log);
    if (a === null) return;
    const key = `${a.platform}/${a.container}`;
    const known = accounts.get(key);
    accounts.set(key, clampAccount(known === undefined ? a : mergeAccount(known, a), cfg, now));
  });
  const system = envelope.data.system === null || envelope.data.system === undefined ? null : restoreEntry(PersistedSystemSchema, envelope.data.system, 'system', 0, log);
  return { targets, accounts: [...accounts.values()], system };
}
