import { z } from 'zod';
import { ClientIdSchema, ContainerIdSchema, PlatformIdSchema, TargetSchema, type Account, type Target } from './platforms.js';

/**
 * What the policy engine persists, entry by entry, so a save touches only what changed.
 * Deadlines are epoch ms (they must survive a restart); durations inside a running engine
 * use a monotonic clock and never appear here.
 */
export const POLICY_STATE_VERSION = 2 as const;

const EpochMs = z.number().int().min(0);
/** The caps of a target's in-flight list and an account's stored window. */
const MAX_IN_FLIGHT = 64;
const MAX_DISPATCHES = 10_000;
/** The cap of an account's list of client ids (the newest kept). */
export const MAX_CLIENTS = 256;

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
  /** The container (account) it went out through. */
  container: ContainerIdSchema,
  admittedAt: EpochMs,
  lastActivityAt: EpochMs,
  probe: z.boolean(),
});
export type PersistedLease = z.infer<typeof PersistedLeaseSchema>;

/**
 * One target's persisted state (one row): what is truly per client id. Holds, circuit and pace
 * belong to the account (PersistedAccount), so no signal can be escaped by switching client id.
 */
export const PersistedTargetSchema = z.object({
  version: z.literal(POLICY_STATE_VERSION),
  clientId: ClientIdSchema,
  platform: PlatformIdSchema,
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

/** How many recent successes a pace keeps as evidence of the burst (and the largest burst it may learn). */
export const MAX_PACE_SUCCESSES = 16;

/**
 * An account's learned pace (see extension/src/policy/pace.ts): the least gap between two
 * dispatches it has learned from the platform's answers, why it was last cut, and the counters
 * the next step needs. Epoch times: it must survive restarts.
 */
export const PaceStateSchema = z.object({
  /** The learned gap, ms; null until the platform first throttled (the configured window alone applies). */
  intervalMs: z.number().int().min(1).nullable(),
  /** The gap raising may not go below: the last one proven sound before a throttle (null: the ceiling). */
  pinnedMs: z.number().int().min(1).nullable(),
  /** The gap in force before the last raise: a throttle right after a raise returns to it. */
  lastGoodMs: z.number().int().min(1).nullable(),
  lastCutAt: EpochMs.nullable(),
  /** The error code of the answer that cut it (upstream_429, usage_cap, …). */
  lastCutReason: z.string().max(64).nullable(),
  lastThrottleAt: EpochMs.nullable(),
  /** The Retry-After (or reset time) that throttle named, ms; null when it named none. */
  lastThrottleHintMs: z.number().int().min(0).nullable(),
  /** Successes since the last throttle (of leases dispatched after it). */
  streakSuccesses: z.number().int().min(0),
  /** Successes with work waiting since the last raise or cut. */
  raiseCredits: z.number().int().min(0),
  /** The learned burst: how many dispatches accumulated credit may send back to back (1: none). */
  burst: z.number().int().min(1).max(MAX_PACE_SUCCESSES).default(1),
  /** When the account's credit was last zero (a throttle, or spent by dispatches); null: the last dispatch. */
  emptyAt: EpochMs.nullable().default(null),
  /** A lower bound of the platform's refill interval, ms, from the last measure; null until measured. */
  refillLowMs: z.number().int().min(1).nullable().default(null),
  /** Dispatch times (epoch ms) of recent successes, oldest first: the evidence the burst is learned from. */
  successAt: z.array(EpochMs).max(MAX_PACE_SUCCESSES).default([]),
});
export type PaceState = z.infer<typeof PaceStateSchema>;

/** The pace of an account nothing has been learned about. */
export function freshPace(): PaceState {
  return {
    intervalMs: null,
    pinnedMs: null,
    lastGoodMs: null,
    lastCutAt: null,
    lastCutReason: null,
    lastThrottleAt: null,
    lastThrottleHintMs: null,
    streakSuccesses: 0,
    raiseCredits: 0,
    burst: 1,
    emptyAt: null,
    refillLowMs: null,
    successAt: [],
  };
}

/** One account's persisted state (one row): its window, holds, circuit and learned pace. */
export const PersistedAccountSchema = z.object({
  version: z.literal(POLICY_STATE_VERSION),
  platform: PlatformIdSchema,
  container: ContainerIdSchema,
  /** Epoch ms of each dispatch still inside the configured window, oldest first. */
  dispatches: z.array(EpochMs).max(MAX_DISPATCHES),
  lastDispatchAt: EpochMs.nullable(),
  circuitState: CircuitStateSchema,
  consecutiveFailures: z.number().int().min(0),
  /** How many times the circuit tripped in a row; grows the open time. */
  trips: z.number().int().min(0),
  circuitRetryAt: EpochMs.nullable(),
  /** No dispatch before this (backoff, Retry-After, a usage cap's reset). */
  backoffUntil: EpochMs.nullable(),
  /** The last backoff delay drawn (decorrelated jitter grows from it). */
  lastBackoffMs: z.number().int().min(0),
  lastError: LastErrorSchema.nullable(),
  pace: PaceStateSchema,
  /** The client ids (targets) that used this account, shown under it. */
  clients: z.array(ClientIdSchema).max(MAX_CLIENTS),
  updatedAt: EpochMs,
});
export type PersistedAccount = z.infer<typeof PersistedAccountSchema>;

/** An account's own fields: its row without the keys, the window and the save stamp. */
export type AccountFields = Omit<PersistedAccount, 'version' | 'platform' | 'container' | 'dispatches' | 'lastDispatchAt' | 'pace' | 'clients' | 'updatedAt'>;

/** The fields of an account nobody has used yet. */
export function freshAccountFields(): AccountFields {
  return { circuitState: 'closed', consecutiveFailures: 0, trips: 0, circuitRetryAt: null, backoffUntil: null, lastBackoffMs: 0, lastError: null };
}

/** A fresh account row at `now`. */
export function freshAccount(account: Account, now: number): PersistedAccount {
  return { version: POLICY_STATE_VERSION, ...account, dispatches: [], lastDispatchAt: null, ...freshAccountFields(), pace: freshPace(), clients: [], updatedAt: now };
}

/** The system-wide switches (one row). */
export const PersistedSystemSchema = z.object({
  version: z.literal(POLICY_STATE_VERSION),
  paused: z.boolean(),
  pauseReason: z.string().max(512).nullable(),
  pausedAt: EpochMs.nullable(),
  updatedAt: EpochMs,
});
export type PersistedSystem = z.infer<typeof PersistedSystemSchema>;

/**
 * Everything `load()` hands back. Entries are raw: the engine validates, migrates and clamps each
 * one, dropping what is corrupt. `platforms` holds rows of version 1 (one window per platform),
 * which load as the platform's default-container account.
 */
export const LoadedPolicyStateSchema = z.object({
  targets: z.array(z.unknown()),
  accounts: z.array(z.unknown()).default([]),
  platforms: z.array(z.unknown()).default([]),
  system: z.unknown().nullable(),
});
export type LoadedPolicyState = z.input<typeof LoadedPolicyStateSchema>;

/** An incremental save: only what changed since the last one. */
export const PolicyChangesSchema = z.object({
  targets: z.array(PersistedTargetSchema).default([]),
  deletedTargets: z.array(TargetSchema).default([]),
  accounts: z.array(PersistedAccountSchema).default([]),
  system: PersistedSystemSchema.nullable().default(null),
});
export type PolicyChanges = z.infer<typeof PolicyChangesSchema>;

/** One dispatch written ahead (`policy.admit`): its lease goes in flight on the target, its time into the account's window. */
export const PolicyAdmissionSchema = TargetSchema.extend(PersistedLeaseSchema.omit({ lastActivityAt: true }).shape);
export type PolicyAdmission = z.infer<typeof PolicyAdmissionSchema>;

/** What the engine hands to `admit()`: the granted lease itself (read at once, never kept). */
export interface AdmittedLease {
  readonly requestId: string;
  readonly target: Readonly<Target>;
  readonly container: string;
  readonly admittedAt: number;
  readonly probe: boolean;
}

/** The payload of `policy.admit` for a lease. */
export function admissionOf(lease: AdmittedLease): PolicyAdmission {
  return { clientId: lease.target.clientId, platform: lease.target.platform, container: lease.container, requestId: lease.requestId, admittedAt: lease.admittedAt, probe: lease.probe };
}

/**
 * The target and account rows with one admission applied, as the engine would have saved them:
 * the lease in flight on the target, its time in the account's window (sorted). A replay
 * of an admission whose lease is already in flight changes neither; two requests admitted in the
 * same ms count twice, as in the engine's window. A stored row that does not pass its schema is
 * replaced by a fresh one: the engine would drop it on restore anyway. At the schema's caps the
 * oldest entries give way. The one function the engine's mirror and the host both apply.
 */
export function applyAdmission(storedTarget: unknown, storedAccount: unknown, a: PolicyAdmission): { target: PersistedTarget; account: PersistedAccount } {
  const t = PersistedTargetSchema.safeParse(storedTarget);
  const target: PersistedTarget = t.success
    ? t.data
    : { version: POLICY_STATE_VERSION, clientId: a.clientId, platform: a.platform, ...freshFields(), inFlight: [], updatedAt: a.admittedAt };
  const fresh = !target.inFlight.some((l) => l.requestId === a.requestId);
  if (fresh) {
    target.inFlight = [...target.inFlight, { requestId: a.requestId, container: a.container, admittedAt: a.admittedAt, lastActivityAt: a.admittedAt, probe: a.probe }].slice(-MAX_IN_FLIGHT);
  }
  target.lastActivityAt = Math.max(target.lastActivityAt ?? 0, a.admittedAt);
  if (target.lastActivityAt === a.admittedAt) target.lastActivityReason = 'admitted';
  target.updatedAt = Math.max(target.updatedAt, a.admittedAt);

  const p = PersistedAccountSchema.safeParse(storedAccount);
  const account: PersistedAccount = p.success ? p.data : freshAccount({ platform: a.platform, container: a.container }, a.admittedAt);
  if (fresh) {
    account.dispatches = [...account.dispatches, a.admittedAt].sort((x, y) => x - y).slice(-MAX_DISPATCHES);
    if (!account.clients.includes(a.clientId)) account.clients = [...account.clients, a.clientId].slice(-MAX_CLIENTS);
  }
  account.lastDispatchAt = Math.max(account.lastDispatchAt ?? 0, a.admittedAt);
  account.updatedAt = Math.max(account.updatedAt, a.admittedAt);
  return { target, account };
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
