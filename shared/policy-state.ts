import { z } from 'zod';
import { ClientIdSchema, PlatformIdSchema, TargetSchema, type Target } from './platforms.js';

/**
 * What the policy engine persists, entry by entry, so a save touches only what changed.
 * Deadlines are epoch ms (they must survive a restart); durations inside a running engine
 * use a monotonic clock and never appear here.
 */
export const POLICY_STATE_VERSION = 1 as const;

const EpochMs = z.number().int().min(0);
/** The caps of a target's in-flight list and a platform's stored window. */
const MAX_IN_FLIGHT = 64;
const MAX_DISPATCHES = 10_000;

export const CircuitStateSchema = z.enum(['closed', 'half_open', 'open']);
export type CircuitState = z.infer<typeof CircuitStateSchema>;

export const LastErrorSchema = z.object({
  code: z.string().max(64),
  message: z.string().max(1024),
  at: EpochMs,
});

/** A lease that was in flight when it was saved; after a restart it is `interrupted`. */
export const PersistedLeaseSchema = z.object({
  requestId: z.string().min(1).max(128),
  admittedAt: EpochMs,
  lastActivityAt: EpochMs,
  probe: z.boolean(),
});
export type PersistedLease = z.infer<typeof PersistedLeaseSchema>;

/** One target's persisted state (one row). */
export const PersistedTargetSchema = z.object({
  version: z.literal(POLICY_STATE_VERSION),
  clientId: ClientIdSchema,
  platform: PlatformIdSchema,
  circuitState: CircuitStateSchema,
  consecutiveFailures: z.number().int().min(0),
  /** How many times the circuit tripped in a row; grows the open time. */
  trips: z.number().int().min(0),
  circuitRetryAt: EpochMs.nullable(),
  backoffUntil: EpochMs.nullable(),
  /** The last backoff delay drawn (decorrelated jitter grows from it). */
  lastBackoffMs: z.number().int().min(0),
  lastError: LastErrorSchema.nullable(),
  lastSuccessAt: EpochMs.nullable(),
  lastFailureAt: EpochMs.nullable(),
  lastActivityAt: EpochMs.nullable(),
  lastActivityReason: z.string().max(64).nullable(),
  lastStaleSweepAt: EpochMs.nullable(),
  lastStaleSweepIdleMs: z.number().int().min(0).nullable(),
  lastStaleSweepReason: z.string().max(64).nullable(),
  lastStaleSweepRequestId: z.string().max(128).nullable(),
  staleSweepCount: z.number().int().min(0),
  inFlight: z.array(PersistedLeaseSchema).max(MAX_IN_FLIGHT),
  updatedAt: EpochMs,
});
export type PersistedTarget = z.infer<typeof PersistedTargetSchema>;

/** A target's own fields: its row without the keys, the in-flight list and the save stamp. */
export type TargetFields = Omit<PersistedTarget, 'version' | 'clientId' | 'platform' | 'inFlight' | 'updatedAt'>;

/** The fields of a target nobody has used yet. */
export function freshFields(): TargetFields {
  return {
    circuitState: 'closed',
    consecutiveFailures: 0,
    trips: 0,
    circuitRetryAt: null,
    backoffUntil: null,
    lastBackoffMs: 0,
    lastError: null,
    lastSuccessAt: null,
    lastFailureAt: null,
    lastActivityAt: null,
    lastActivityReason: null,
    lastStaleSweepAt: null,
    lastStaleSweepIdleMs: null,
    lastStaleSweepReason: null,
    lastStaleSweepRequestId: null,
    staleSweepCount: 0,
  };
}

/** One platform's persisted sliding window (one row). */
export const PersistedPlatformSchema = z.object({
  version: z.literal(POLICY_STATE_VERSION),
  platform: PlatformIdSchema,
  /** Epoch ms of each dispatch still inside the window, oldest first. */
  dispatches: z.array(EpochMs).max(MAX_DISPATCHES),
  lastDispatchAt: EpochMs.nullable(),
  updatedAt: EpochMs,
});
export type PersistedPlatform = z.infer<typeof PersistedPlatformSchema>;

/** The system-wide switches (one row). */
export const PersistedSystemSchema = z.object({
  version: z.literal(POLICY_STATE_VERSION),
  paused: z.boolean(),
  pauseReason: z.string().max(512).nullable(),
  pausedAt: EpochMs.nullable(),
  updatedAt: EpochMs,
});
export type PersistedSystem = z.infer<typeof PersistedSystemSchema>;

/** Everything `load()` hands back. Entries are raw: the engine validates and clamps each one, dropping what is corrupt. */
export const LoadedPolicyStateSchema = z.object({
  targets: z.array(z.unknown()),
  platforms: z.array(z.unknown()),
  system: z.unknown().nullable(),
});
export type LoadedPolicyState = z.infer<typeof LoadedPolicyStateSchema>;

/** An incremental save: only what changed since the last one. */
export const PolicyChangesSchema = z.object({
  targets: z.array(PersistedTargetSchema).default([]),
  deletedTargets: z.array(TargetSchema).default([]),
  platforms: z.array(PersistedPlatformSchema).default([]),
  system: PersistedSystemSchema.nullable().default(null),
});
export type PolicyChanges = z.infer<typeof PolicyChangesSchema>;

/** One dispatch written ahead (`policy.admit`): its lease goes in flight on the target, its time into the platform's window. */
export const PolicyAdmissionSchema = TargetSchema.extend(PersistedLeaseSchema.omit({ lastActivityAt: true }).shape);
export type PolicyAdmission = z.infer<typeof PolicyAdmissionSchema>;

/** What the engine hands to `admit()`: the granted lease itself (read at once, never kept). */
export interface AdmittedLease {
  readonly requestId: string;
  readonly target: Readonly<Target>;
  readonly admittedAt: number;
  readonly probe: boolean;
}

/** The payload of `policy.admit` for a lease. */
export function admissionOf(lease: AdmittedLease): PolicyAdmission {
  return { clientId: lease.target.clientId, platform: lease.target.platform, requestId: lease.requestId, admittedAt: lease.admittedAt, probe: lease.probe };
}

/**
 * The target and platform rows with one admission applied, as the engine would have saved them:
 * the lease in flight on the target, its time in the window (sorted). A replay of an admission
 * whose lease is already in flight changes neither; two requests admitted in the same ms count
 * twice, as in the engine's window. A stored row that does not pass its schema is replaced by a
 * fresh one: the engine would drop it on restore anyway. At the schema's caps the oldest entries give way.
 */
export function applyAdmission(storedTarget: unknown, storedPlatform: unknown, a: PolicyAdmission): { target: PersistedTarget; platform: PersistedPlatform } {
  const t = PersistedTargetSchema.safeParse(storedTarget);
  const target: PersistedTarget = t.success
    ? t.data
    : { version: POLICY_STATE_VERSION, clientId: a.clientId, platform: a.platform, ...freshFields(), inFlight: [], updatedAt: a.admittedAt };
  const fresh = !target.inFlight.some((l) => l.requestId === a.requestId);
  if (fresh) {
    target.inFlight = [...target.inFlight, { requestId: a.requestId, admittedAt: a.admittedAt, lastActivityAt: a.admittedAt, probe: a.probe }].slice(-MAX_IN_FLIGHT);
  }
  target.lastActivityAt = Math.max(target.lastActivityAt ?? 0, a.admittedAt);
  if (target.lastActivityAt === a.admittedAt) target.lastActivityReason = 'admitted';
  target.updatedAt = Math.max(target.updatedAt, a.admittedAt);

  const p = PersistedPlatformSchema.safeParse(storedPlatform);
  const platform: PersistedPlatform = p.success ? p.data : { version: POLICY_STATE_VERSION, platform: a.platform, dispatches: [], lastDispatchAt: null, updatedAt: a.admittedAt };
  if (fresh) {
    platform.dispatches = [...platform.dispatches, a.admittedAt].sort((x, y) => x - y).slice(-MAX_DISPATCHES);
  }
  platform.lastDispatchAt = Math.max(platform.lastDispatchAt ?? 0, a.admittedAt);
  platform.updatedAt = Math.max(platform.updatedAt, a.admittedAt);
  return { target, platform };
}

/** How the engine persists; implemented over native messaging, storage.local, or SQLite in tests. */
export interface PolicyPersistence {
  /** Loads every stored entry (raw; the engine validates). */
  load(): Promise<LoadedPolicyState>;
  /** Stores the changed entries; resolves once they are durable. */
  save(changes: PolicyChanges): Promise<void>;
  /**
   * The write-ahead of one dispatch, called before the lease is handed out. Takes what it needs
   * from the lease synchronously and never throws; the engine does not wait for it. The same
   * dispatch also reaches save() with the next debounced rows, so a lost admit is made good there.
   */
  admit(lease: AdmittedLease): void;
}
