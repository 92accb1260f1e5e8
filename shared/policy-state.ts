import { z } from 'zod';
import { ClientIdSchema, PlatformIdSchema } from './platforms.js';

/**
 * What the policy engine persists, entry by entry, so a save touches only what changed.
 * Deadlines are epoch ms (they must survive a restart); durations inside a running engine
 * use a monotonic clock and never appear here.
 */
export const POLICY_STATE_VERSION = 1 as const;

const EpochMs = z.number().int().min(0);

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
  inFlight: z.array(PersistedLeaseSchema).max(64),
  updatedAt: EpochMs,
});
export type PersistedTarget = z.infer<typeof PersistedTargetSchema>;

/** One platform's persisted sliding window (one row). */
export const PersistedPlatformSchema = z.object({
  version: z.literal(POLICY_STATE_VERSION),
  platform: PlatformIdSchema,
  /** Epoch ms of each dispatch still inside the window, oldest first. */
  dispatches: z.array(EpochMs).max(10_000),
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

export const TargetKeySchema = z.object({ clientId: ClientIdSchema, platform: PlatformIdSchema });

/** An incremental save: only what changed since the last one. */
export const PolicyChangesSchema = z.object({
  targets: z.array(PersistedTargetSchema).default([]),
  deletedTargets: z.array(TargetKeySchema).default([]),
  platforms: z.array(PersistedPlatformSchema).default([]),
  system: PersistedSystemSchema.nullable().default(null),
});
export type PolicyChanges = z.infer<typeof PolicyChangesSchema>;

/** How the engine persists; implemented over native messaging, storage.local, or SQLite in tests. */
export interface PolicyPersistence {
  /** Loads every stored entry (raw; the engine validates). */
  load(): Promise<LoadedPolicyState>;
  /** Stores the changed entries; resolves once they are durable. */
  save(changes: PolicyChanges): Promise<void>;
}
