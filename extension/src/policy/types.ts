import type { Admission } from '../../../shared/admission.js';
import type { PolicyConfig, PolicyConfigInput } from '../../../shared/policy-config.js';
import type { LoadedPolicyState, PolicyPersistence } from '../../../shared/policy-state.js';
import type { Target } from '../../../shared/platforms.js';
import type { PolicySnapshot } from '../../../shared/status.js';

/** Everything time- or chance-dependent the engine uses; tests inject fakes. */
export interface PolicyClock {
  /** Wall clock, epoch ms: deadlines that must survive a restart. */
  now(): number;
  /** Monotonic ms for in-process durations (performance.now in production). */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Uniform in [0, 1). */
  random(): number;
}

/** Where the engine reports what it dropped or clamped on restore; never given secrets. */
export interface PolicyLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface PolicyEngineOptions {
  config?: PolicyConfigInput;
  persistence: PolicyPersistence;
  clock: PolicyClock;
  log?: PolicyLog;
}

export interface BeginOptions {
  /** The Firefox container (cookie store) whose session the request uses: with the platform, its account. Default `firefox-default`. */
  container?: string;
  /**
   * The caller's deadline: reject at once (rate_limited / backoff_active + retry_after_ms) rather
   * than wait longer than this, and waiter_timeout when it passes. Null: the configured default.
   */
  maxWaitMs?: number | null;
  /** Aborting leaves the queue at once with `cancelled`. */
  signal?: AbortSignal;
}

/** How a relayed request ended, as classification reports it to the lease. */
export interface LeaseOutcome {
  status: 'success' | 'failure' | 'cancelled';
  /** An error code from shared/errors.ts (upstream_429, upstream_5xx, auth_required, network_error, …). */
  code?: string;
  httpStatus?: number;
  /** From a parsed Retry-After or a usage cap's reset time; beats a shorter backoff. */
  retryAfterMs?: number;
  message?: string;
}

/** The right to dispatch one request for one target; complete it exactly once. */
export interface Lease {
  readonly requestId: string;
  readonly target: Target;
  readonly admission: Admission;
  /** True once completed or reclaimed by the stale sweep. */
  readonly done: boolean;
  /** Marks activity (a streamed chunk) so the stale sweep leaves the lease alone. */
  touch(reason?: string): void;
  /** Records the outcome; a second call is ignored. */
  complete(outcome: LeaseOutcome): void;
}

/** Leases found in flight in the persisted state on initialize: outcome unknown. */
export interface InterruptedLease {
  requestId: string;
  target: Target;
  container: string;
  admittedAt: number;
}

/** The policy engine as its adapters (background, tests, bench) use it. */
export interface PolicyEngineApi {
  /** Loads persisted state (validating and clamping it) before the first admission. */
  initialize(): Promise<{ interrupted: InterruptedLease[] }>;
  /** Resolves to a lease once every policy stage allows it, or rejects with a ConductorError. */
  beginRequest(target: Target, requestId: string, options?: BeginOptions): Promise<Lease>;
  /** Closes the circuit and clears the hold of the accounts a target used; false (and nothing created) when the target is unknown. */
  resetTarget(target: Target): boolean;
  /** Stops all admission until resume(); waiters keep waiting (or time out). */
  pause(reason: string): void;
  resume(): void;
  getSnapshot(): PolicySnapshot;
  /** Called after every state change (debounce in the listener if needed); returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Writes every pending change now. */
  flush(): Promise<void>;
  /** The whole state in persisted form (for a mirror that starts empty, e.g. a host that came back). */
  exportState(): LoadedPolicyState;
  /** Merges another copy of the state into the live one, the stricter value winning; marks merged entries dirty. */
  reconcile(other: LoadedPolicyState): void;
  /** Applies a new config live (limits, concurrency and the rest for what follows; existing deadlines kept). */
  reconfigure(config: PolicyConfig): void;
  /** Stops timers (sweep, debounce); rejects waiters with `cancelled`. */
  dispose(): void;
}
