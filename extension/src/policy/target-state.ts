import type { Admission } from '../../../shared/admission.js';
import { freshFields, POLICY_STATE_VERSION, type PersistedLease, type PersistedTarget, type TargetFields } from '../../../shared/policy-state.js';
import type { Target } from '../../../shared/platforms.js';
import type { TargetSnapshot } from '../../../shared/status.js';
import { LeaseQueue, type Waiter } from './lease-queue.js';
import type { AccountState } from './account-state.js';
import type { Lease, LeaseOutcome } from './types.js';

/** The engine side of a lease: what `touch()` and `complete()` call back into. */
export interface LeaseOwner {
  touched(lease: EngineLease, reason: string): void;
  completed(lease: EngineLease, outcome: LeaseOutcome): void;
}

/** What each policy stage made a caller wait, in ms. */
export type StageDelays = Pick<Admission, 'queueDelayMs' | 'backoffDelayMs' | 'rateLimitDelayMs' | 'jitterDelayMs'>;

/** The delays of an admission that waited for nothing (shared: the fast path allocates none). */
export const NO_DELAYS: StageDelays = Object.freeze({ queueDelayMs: 0, backoffDelayMs: 0, rateLimitDelayMs: 0, jitterDelayMs: 0 });

/** A granted lease; settles exactly once (by its holder or the stale sweep). */
export class EngineLease implements Lease {
  done = false;
  /** Monotonic time of the last activity; null until the sweep stamps it (see stale-sweep.ts; null, not NaN: no number boxed per lease). */
  lastActivityMono: number | null = null;
  /** Wall ms of the last touch(); null until then (the admission is the activity). */
  touchedAt: number | null = null;
  lastActivityReason = 'admitted';

  constructor(
    readonly requestId: string,
    readonly target: Target,
    /** The container (account) it goes out through. */
    readonly container: string,
    readonly admittedAt: number,
    /** Whether it was admitted as the half-open probe (a reset later makes it an ordinary lease). */
    readonly probe: boolean,
    private readonly delays: StageDelays,
    readonly state: TargetState,
    readonly account: AccountState,
    private readonly owner: LeaseOwner,
  ) {}

  /** Wall ms of the last activity (admission or touch). */
  get lastActivityAt(): number {
    return this.touchedAt ?? this.admittedAt;
  }

  /** Built when read (once or twice per request, by the relay), so admitting allocates one object less. */
  get admission(): Admission {
    const d = this.delays;
    return { admittedAt: this.admittedAt, queueDelayMs: d.queueDelayMs, backoffDelayMs: d.backoffDelayMs, rateLimitDelayMs: d.rateLimitDelayMs, jitterDelayMs: d.jitterDelayMs, probe: this.probe };
  }

  touch(reason = 'activity'): void {
    if (!this.done) this.owner.touched(this, reason);
  }

  complete(outcome: LeaseOutcome): void {
    if (!this.done) this.owner.completed(this, outcome);
  }
}

/** A live lease as its in-flight entry (module-level: no closure per save). */
function persistedLease(l: EngineLease): PersistedLease {
  return { requestId: l.requestId, container: l.container, admittedAt: l.admittedAt, lastActivityAt: l.lastActivityAt, probe: l.account.probe === l.requestId };
}

/** A caller on its way to a lease, with what each stage has cost it so far. */
export interface PendingAdmission {
  readonly waiter: Waiter<Lease>;
  readonly requestId: string;
  readonly state: TargetState;
  readonly account: AccountState;
  /** Arrival order: the account serves its line by it. */
  readonly seq: number;
  readonly startMono: number;
  /** Epoch ms after which a wait is refused: the caller's maxWaitMs, or the configured default. */
  readonly deadline: number;
  /** Holds one of the target's concurrency slots. */
  slotted: boolean;
  probe: boolean;
  jitterDone: boolean;
  /** Waiting on pause or on a busy probe (resume or the probe's outcome wakes it). */
  parked: boolean;
  /** The stage being slept and since when (monotonic), to account the time when it ends. */
  sleepKind: 'backoff' | 'rate' | 'jitter' | null;
  sleepStartMono: number;
  backoffDelayMs: number;
  rateLimitDelayMs: number;
  jitterDelayMs: number;
}

/** Copies the editable fields out of a persisted row. */
export function fieldsOf(row: PersistedTarget): TargetFields {
  const { version: _v, clientId: _c, platform: _p, inFlight: _i, updatedAt: _u, ...fields } = row;
  return fields;
}

/** One target's live state (one client id on one platform): its FIFO slot and queue, and what it last saw. */
export class TargetState {
  readonly target: Target;
  fields: TargetFields = freshFields();
  /** Granted leases (at most maxInFlightPerTarget, so a list beats a Map). */
  readonly leases: EngineLease[] = [];
  /** Callers waiting for a concurrency slot, FIFO. */
  readonly queue = new LeaseQueue<PendingAdmission>();
  /** Callers holding a slot, in their account's line. */
  readonly slotted = new Set<PendingAdmission>();
  /** Leases found in flight at restore (outcome unknown). */
  interrupted = 0;
  pumping = false;
  /** Changed since the last save (the persistence writer's flag). */
  dirty = false;

  constructor(
    readonly key: string,
    target: Target,
  ) {
    this.target = { clientId: target.clientId, platform: target.platform };
  }

  /** Slots in use: leases plus callers admitted past the concurrency stage. */
  get active(): number {
    return this.leases.length + this.slotted.size;
  }

  /** The lease with this request id, if granted. */
  lease(requestId: string | null): EngineLease | undefined {
    for (const l of this.leases) if (l.requestId === requestId) return l;
    return undefined;
  }

  /** Drops a lease from the list; false if it was not there. */
  removeLease(lease: EngineLease): boolean {
    const leases = this.leases;
    // A loop, not indexOf: the list holds one or two leases, and this runs on every completion.
    for (let i = 0; i < leases.length; i++) {
      if (leases[i] !== lease) continue;
      const last = leases.pop() as EngineLease;
      if (i < leases.length) leases[i] = last;
      return true;
    }
    return false;
  }

  /** Whether a request id is leased or on its way here (a second begin with it is a duplicate). */
  has(requestId: string): boolean {
    if (this.lease(requestId) !== undefined) return true;
    if (this.slotted.size > 0) for (const p of this.slotted) if (p.requestId === requestId) return true;
    return this.queue.length > 0 && this.queue.some((p) => p.requestId === requestId);
  }

  /**
   * The latest activity: the target's own (a completion, a reset) or a live lease's (its admission
   * or last touch), which the engine does not copy into the fields on every admission and chunk.
   */
  private lastActivity(): Pick<TargetFields, 'lastActivityAt' | 'lastActivityReason'> {
    let at = this.fields.lastActivityAt;
    let reason = this.fields.lastActivityReason;
    for (const l of this.leases) {
      if (at === null || l.lastActivityAt > at) {
        at = l.lastActivityAt;
        reason = l.lastActivityReason;
      }
    }
    return { lastActivityAt: at, lastActivityReason: reason };
  }

  /** The persisted form at `now`, with the live leases as in-flight entries. */
  toRow(now: number): PersistedTarget {
    return {
      version: POLICY_STATE_VERSION,
      clientId: this.target.clientId,
      platform: this.target.platform,
      ...this.fields,
      ...this.lastActivity(),
      inFlight: this.leases.map(persistedLease),
      updatedAt: now,
    };
  }

  /** The live view for the popup and the status API. */
  toSnapshot(): TargetSnapshot {
    return {
      clientId: this.target.clientId,
      platform: this.target.platform,
      ...this.fields,
      ...this.lastActivity(),
      inFlight: this.leases.length,
      waiting: this.queue.length + this.slotted.size,
      interrupted: this.interrupted,
    };
  }
}
