import { ConductorError, ERROR_TABLE } from '../../../shared/errors.js';
import { ClientIdSchema, PlatformIdSchema, targetKey, type Target } from '../../../shared/platforms.js';
import { validatePolicyConfig, type PolicyConfig } from '../../../shared/policy-config.js';
import {
  POLICY_STATE_VERSION,
  type LoadedPolicyState,
  type PersistedLease,
  type PersistedSystem,
  type PersistedTarget,
  type TargetFields,
} from '../../../shared/policy-state.js';
import type { PolicySnapshot } from '../../../shared/status.js';
import { backoffDeadline, clampRetryAfterMs, nextBackoffMs } from './backoff.js';
import { gateCircuit, recordCircuitFailure, recordCircuitSuccess } from './circuit.js';
import { drawJitterMs } from './jitter.js';
import { Waiter } from './lease-queue.js';
import { PersistenceWriter } from './persistence-writer.js';
import { RateWindow, rateLimitFor } from './rate-window.js';
import { mergePlatform, mergeSystem, mergeTarget } from './reconcile.js';
import { restoreState, type RestoredState } from './restore.js';
import { activityMono, findStale, reclaimBoundMs, StaleSweeper } from './stale-sweep.js';
import { EngineLease, fieldsOf, NO_DELAYS, TargetState, type LeaseOwner, type PendingAdmission, type StageDelays } from './target-state.js';
import type {
  BeginOptions,
  InterruptedLease,
  Lease,
  LeaseOutcome,
  PolicyClock,
  PolicyEngineApi,
  PolicyEngineOptions,
  PolicyLog,
} from './types.js';

type SystemFields = Omit<PersistedSystem, 'version' | 'updatedAt'>;

const MAX_REQUEST_ID = 128;

/** Cuts a string to a persisted field's limit. */
const cut = (s: string, max: number): string => (s.length > max ? s.slice(0, max) : s);

// The refusals of beginRequest's first checks, built out of line so the hot path stays small enough to inline.
const validRequestId = (id: unknown): boolean => typeof id === 'string' && id.length > 0 && id.length <= MAX_REQUEST_ID;
const badRequestId = (): ConductorError => new ConductorError('bad_payload', `requestId must be 1 to ${MAX_REQUEST_ID} characters`);
const abortedBefore = (): ConductorError => new ConductorError('cancelled', 'the caller aborted before admission');
const duplicate = (id: string): ConductorError => new ConductorError('duplicate_request', `request ${id} is already admitted or waiting for this target`);

function sameFields(a: TargetFields, b: TargetFields): boolean {
  for (const key of Object.keys(a) as (keyof TargetFields)[]) {
    const x = a[key];
    const y = b[key];
    if (key === 'lastError') {
      const ex = a.lastError;
      const ey = b.lastError;
      if (ex === null || ey === null ? ex !== ey : ex.code !== ey.code || ex.message !== ey.message || ex.at !== ey.at) return false;
    } else if (x !== y) return false;
  }
  return true;
}

/** The config, validated; refused with `bad_payload` and each field's path. */
function validConfig(raw: unknown): PolicyConfig {
  const v = validatePolicyConfig(raw);
  if (!v.ok) throw new ConductorError('bad_payload', `invalid policy config: ${v.message}`, { issues: v.issues });
  return v.config;
}

/**
 * The policy engine: decides when a relayed request may go out. Admission runs, in order:
 * target validation, circuit breaker (with a single half-open probe), per-target concurrency (FIFO
 * waiters), backoff, the platform's sliding window and spacing, then jitter; the dispatch is written
 * ahead: handed to persistence.admit() before the lease is handed out. Pure: time, timers, chance
 * and storage are injected. When nothing has to wait, admission is synchronous.
 */
export class PolicyEngine implements PolicyEngineApi {
  /** The active config; replaced by reconfigure(). */
  config: PolicyConfig;
  private readonly clock: PolicyClock;
  private readonly log: PolicyLog | undefined;
  private readonly persistence: PolicyEngineOptions['persistence'];
  /** Targets by platform, then client id (no key string built per lookup), and as a list. */
  private readonly targets = new Map<string, Map<string, TargetState>>();
  private readonly targetList: TargetState[] = [];
  private readonly windows = new Map<string, RateWindow>();
  private system: SystemFields = { paused: false, pauseReason: null, pausedAt: null };
  private readonly writer: PersistenceWriter;
  private readonly sweeper: StaleSweeper;
  private readonly listeners = new Set<() => void>();
  private readonly random: () => number;
  /** Hot-path copies of two config values (recomputed by reconfigure()). */
  private maxInFlight: number;
  private jitterOff: boolean;
  private initializing: Promise<{ interrupted: InterruptedLease[] }> | null = null;
  private ready = false;
  private disposed = false;
  /** Monotonic time of the last stale sweep (or of initialize). */
  private lastSweepMono = 0;

  constructor(options: PolicyEngineOptions) {
    this.config = validConfig(options.config ?? {});
    this.maxInFlight = this.config.concurrency.maxInFlightPerTarget;
    this.jitterOff = this.config.jitter.maxMs === 0;
    this.clock = options.clock;
    this.log = options.log;
    this.persistence = options.persistence;
    this.random = () => this.clock.random();
    this.writer = new PersistenceWriter(this.persistence, this.clock, this.config.persistence.debounceMs, () => this.systemRow(), () => this.markAll(), this.log);
    this.sweeper = new StaleSweeper(this.clock, this.config.staleLease.sweepIntervalMs, () => this.sweep());
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Loads, validates and clamps the persisted state; reports the leases that were in flight. Retries on a later call if load fails. */
  initialize(): Promise<{ interrupted: InterruptedLease[] }> {
    if (this.initializing === null) {
      this.initializing = this.load().catch((err: unknown) => {
        this.initializing = null;
        throw err;
      });
    }
    return this.initializing;
  }

  private async load(): Promise<{ interrupted: InterruptedLease[] }> {
    const loaded = await this.persistence.load();
    if (this.disposed) throw new ConductorError('cancelled', 'the policy engine was disposed while loading');
    const now = this.clock.now();
    const inFlight = this.absorb(restoreState(loaded, this.config, now, this.log), false);
    const interrupted: InterruptedLease[] = [];
    for (const [ts, leases] of inFlight) {
      for (const lease of leases) {
        interrupted.push({ requestId: lease.requestId, target: ts.target, admittedAt: lease.admittedAt });
        ts.interrupted += 1;
        // Its dispatch counts against the window even if the platform row lost it.
        if (!ts.window.has(lease.admittedAt) && lease.admittedAt > now - ts.window.limit.windowMs) {
          ts.window.record(lease.admittedAt);
          this.writer.markPlatform(ts.window);
        }
        if (this.config.persistence.interruptedCountsAsFailure) {
          this.applyFailure(ts, now, 'interrupted', ERROR_TABLE.interrupted.meaning, undefined, lease.probe);
        }
      }
      // Its in-flight list is now empty.
      this.writer.markTarget(ts);
    }
    this.ready = true;
    this.lastSweepMono = this.clock.monotonic();
    this.sweeper.start();
    this.notify();
    return { interrupted };
  }

  /** Stops timers and rejects every waiter with `cancelled`; leases already handed out stay with their holders. */
  dispose(): void {
    this.disposed = true;
    this.ready = false;
    this.sweeper.stop();
    this.writer.dispose();
    const err = new ConductorError('cancelled', 'the policy engine stopped');
    for (const ts of this.targetList) {
      for (const p of [...ts.queue.drain(), ...ts.slotted]) this.fail(p, err);
    }
  }

  /**
   * Applies a new config live. The platform windows keep their dispatches under the new limits,
   * callers sleeping on a window are re-checked (a looser limit frees them now) and the queues are
   * pumped (a looser concurrency frees waiters); deadlines already set (backoffUntil,
   * circuitRetryAt) stay as they are; jitter, backoff, breaker, stale-lease and persistence knobs
   * apply to what follows. Invalid input is refused with `bad_payload` naming the fields.
   */
  reconfigure(config: PolicyConfig): void {
    const next = validConfig(config);
    this.config = next;
    this.maxInFlight = next.concurrency.maxInFlightPerTarget;
    this.jitterOff = next.jitter.maxMs === 0;
    for (const w of this.windows.values()) w.limit = rateLimitFor(next, w.platform);
    this.writer.debounceMs = next.persistence.debounceMs;
    this.sweeper.setInterval(next.staleLease.sweepIntervalMs);
    this.notify();
    if (!this.ready) return;
    for (const ts of this.targetList) {
      this.wake(ts, 'rate');
      this.pump(ts);
    }
  }

  // ---- admission -------------------------------------------------------------------------------

  beginRequest(target: Target, requestId: string, options?: BeginOptions): Promise<Lease> {
    if (!this.ready) return this.beginBeforeReady(target, requestId, options);
    try {
      const ts = this.targetFor(target);
      if (!validRequestId(requestId)) throw badRequestId();
      if (options !== undefined && options.signal?.aborted === true) throw abortedBefore();
      if (this.system.paused) throw this.pausedError();
      if (ts.has(requestId)) throw duplicate(requestId);
      const now = this.clock.now();
      // Fast path: the circuit closed and nothing to wait for; the rest (and every refusal) in admitLater.
      if (ts.fields.circuitState === 'closed' && this.nothingToWait(ts, now)) return Promise.resolve(this.dispatch(ts, requestId, false, now, NO_DELAYS));
      return this.admitLater(ts, requestId, options, now);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Before initialize() has finished: wait for it, or refuse when the engine stopped or was never initialized. */
  private beginBeforeReady(target: Target, requestId: string, options: BeginOptions | undefined): Promise<Lease> {
    if (this.disposed) return Promise.reject(new ConductorError('cancelled', 'the policy engine stopped'));
    if (this.initializing !== null) return this.initializing.then(() => this.beginRequest(target, requestId, options));
    return Promise.reject(new ConductorError('internal_error', 'the policy engine was used before initialize()'));
  }

  /** No backoff, a free slot on the target and in the platform window, no jitter to sleep, nobody ahead. */
  private nothingToWait(ts: TargetState, now: number): boolean {
    const backoffUntil = ts.fields.backoffUntil;
    return this.jitterOff && (backoffUntil === null || backoffUntil <= now) && ts.queue.length === 0 && ts.active < this.maxInFlight && ts.window.nextSlotAt(now) === null;
  }

  /** Admission when a stage may make the caller wait: a maxWaitMs refusal now, else a queued waiter. */
  private admitLater(ts: TargetState, requestId: string, options: BeginOptions | undefined, now: number): Promise<Lease> {
    const gate = gateCircuit(ts.fields, now, ts.probe !== null);
    if (gate.kind === 'open') throw this.circuitOpenError(gate.retryAfterMs);
    if (gate.kind === 'busy') throw this.probeBusyError(ts);

    const maxWaitMs = options?.maxWaitMs;
    const deadline = maxWaitMs === undefined || maxWaitMs === null ? null : now + Math.max(0, maxWaitMs);
    if (deadline !== null) {
      const backoffUntil = ts.fields.backoffUntil;
      if (backoffUntil !== null && backoffUntil > deadline) throw this.backoffError(backoffUntil - now);
      const nextSlot = ts.window.nextSlotAt(now);
      if (nextSlot !== null && nextSlot > deadline) throw this.rateError(nextSlot - now);
    }
    const probe = gate.kind === 'probe';
    if (probe) this.designateProbe(ts, requestId);

    const waiter = new Waiter<Lease>(this.clock);
    const p: PendingAdmission = {
      waiter,
      requestId,
      state: ts,
      startMono: this.clock.monotonic(),
      deadline,
      slotted: false,
      probe,
      jitterDone: false,
      reservedAt: null,
      parked: false,
      sleepKind: null,
      sleepStartMono: 0,
      backoffDelayMs: 0,
      rateLimitDelayMs: 0,
      jitterDelayMs: 0,
    };
    // With maxWaitMs, the queue is bounded by it too (plus the longest jitter, which it does not cover).
    const giveUpMs = deadline === null ? this.config.concurrency.waiterTimeoutMs : Math.min(this.config.concurrency.waiterTimeoutMs, deadline - now + this.config.jitter.maxMs);
    waiter.arm(giveUpMs, options?.signal, (err) => this.fail(p, err));
    ts.queue.push(p);
    this.pump(ts);
    this.notify();
    return waiter.promise;
  }

  /** The target's live state, created on first sight (after validating it). */
  private targetFor(target: Target): TargetState {
    return this.knownTarget(target) ?? this.createTarget(target);
  }

  /** The live state of a target seen before; a target that is not an object is refused. */
  private knownTarget(target: Target): TargetState | undefined {
    if (typeof target !== 'object' || target === null) throw new ConductorError('invalid_target', 'a target {clientId, platform} is required');
    return this.targets.get(target.platform)?.get(target.clientId);
  }

  /** Validates a target's ids (invalid_target naming the field). */
  private static validateTarget(target: Target): void {
    const client = ClientIdSchema.safeParse(target.clientId);
    if (!client.success) throw new ConductorError('invalid_target', `clientId: ${client.error.issues[0]?.message ?? 'invalid'}`, { field: 'clientId' });
    const platform = PlatformIdSchema.safeParse(target.platform);
    if (!platform.success) throw new ConductorError('invalid_target', `platform: ${platform.error.issues[0]?.message ?? 'invalid'}`, { field: 'platform' });
  }

  private createTarget(target: Target): TargetState {
    PolicyEngine.validateTarget(target);
    const ts = new TargetState(targetKey(target), target, this.windowFor(target.platform));
    let byClient = this.targets.get(ts.target.platform);
    if (byClient === undefined) {
      byClient = new Map();
      this.targets.set(ts.target.platform, byClient);
    }
    byClient.set(ts.target.clientId, ts);
    this.targetList.push(ts);
    return ts;
  }

  private windowFor(platform: string): RateWindow {
    let w = this.windows.get(platform);
    if (w === undefined) {
      w = new RateWindow(platform, rateLimitFor(this.config, platform));
      this.windows.set(platform, w);
    }
    return w;
  }

  private designateProbe(ts: TargetState, requestId: string): void {
    ts.probe = requestId;
    if (ts.fields.circuitState !== 'half_open') {
      ts.fields.circuitState = 'half_open';
      this.writer.markTarget(ts);
    }
  }

  /** Hands out slots to the queue's head while the target has room. */
  private pump(ts: TargetState): void {
    if (ts.pumping) return;
    ts.pumping = true;
    try {
      while (ts.queue.length > 0 && ts.active < this.maxInFlight) {
        const p = ts.queue.shift() as PendingAdmission;
        p.slotted = true;
        ts.slotted.add(p);
        this.advance(p);
      }
    } finally {
      ts.pumping = false;
    }
  }

  /** Moves a slotted caller through pause, circuit, backoff, rate and jitter; sleeps or fails where it must. */
  private advance(p: PendingAdmission): void {
    if (p.waiter.settled) return;
    const ts = p.state;
    const now = this.clock.now();
    if (this.system.paused) {
      // Jitter is drawn again after resume, so a resume does not release a machine-regular burst.
      p.parked = true;
      p.jitterDone = false;
      return;
    }
    p.parked = false;
    const gate = gateCircuit(ts.fields, now, ts.probe !== null && ts.probe !== p.requestId);
    if (gate.kind === 'open') return this.fail(p, this.circuitOpenError(gate.retryAfterMs));
    if (gate.kind === 'busy') return this.fail(p, this.probeBusyError(ts));
    if (gate.kind === 'probe' && ts.probe === null) {
      p.probe = true;
      this.designateProbe(ts, p.requestId);
      this.notify();
    }
    const backoffUntil = ts.fields.backoffUntil;
    if (backoffUntil !== null && backoffUntil > now) {
      if (p.deadline !== null && backoffUntil > p.deadline) return this.fail(p, this.backoffError(backoffUntil - now));
      return this.sleep(p, 'backoff', backoffUntil - now);
    }
    const nextSlot = ts.window.nextSlotAt(now);
    if (nextSlot !== null) {
      if (p.deadline !== null && nextSlot > p.deadline) return this.fail(p, this.rateError(nextSlot - now));
      return this.sleep(p, 'rate', nextSlot - now);
    }
    if (!p.jitterDone) {
      p.jitterDone = true;
      const jitterMs = drawJitterMs(this.config.jitter, this.random);
      if (jitterMs > 0) {
        // Hold the slot in the window while sleeping, so nobody else takes it meanwhile.
        p.reservedAt = now + jitterMs;
        ts.window.reserve(p.reservedAt);
        return this.sleep(p, 'jitter', jitterMs);
      }
    }
    p.waiter.disarm();
    ts.slotted.delete(p);
    p.slotted = false;
    const waited = this.clock.monotonic() - p.startMono;
    const queueDelayMs = Math.max(0, waited - p.backoffDelayMs - p.rateLimitDelayMs - p.jitterDelayMs);
    const delays: StageDelays = { queueDelayMs, backoffDelayMs: p.backoffDelayMs, rateLimitDelayMs: p.rateLimitDelayMs, jitterDelayMs: p.jitterDelayMs };
    p.waiter.resolve(this.dispatch(ts, p.requestId, ts.probe === p.requestId, now, delays));
  }

  private sleep(p: PendingAdmission, kind: 'backoff' | 'rate' | 'jitter', ms: number): void {
    p.sleepKind = kind;
    p.sleepStartMono = this.clock.monotonic();
    p.waiter.sleep(ms, () => {
      this.endSleep(p);
      this.advance(p);
    });
  }

  /** Wakes the callers of `ts` sleeping on `kind`, so they re-check against the state as it is now. */
  private wake(ts: TargetState, kind: 'backoff' | 'rate'): void {
    for (const p of [...ts.slotted]) {
      if (p.sleepKind === kind && p.waiter.sleeping) {
        p.waiter.clearStage();
        this.endSleep(p);
        this.advance(p);
      }
    }
  }

  /** Books the time slept to its stage and gives back a jitter reservation. */
  private endSleep(p: PendingAdmission): void {
    const slept = Math.max(0, this.clock.monotonic() - p.sleepStartMono);
    if (p.sleepKind === 'backoff') p.backoffDelayMs += slept;
    else if (p.sleepKind === 'rate') p.rateLimitDelayMs += slept;
    else if (p.sleepKind === 'jitter') p.jitterDelayMs += slept;
    p.sleepKind = null;
    if (p.reservedAt !== null) {
      p.state.window.release(p.reservedAt);
      p.reservedAt = null;
    }
  }

  /** Takes a caller out of wherever it waits and rejects it. */
  private fail(p: PendingAdmission, err: ConductorError): void {
    if (p.waiter.settled) return;
    const ts = p.state;
    p.waiter.reject(err);
    if (p.slotted) {
      ts.slotted.delete(p);
      p.slotted = false;
    } else ts.queue.remove(p);
    if (p.reservedAt !== null) {
      ts.window.release(p.reservedAt);
      p.reservedAt = null;
    }
    // The circuit stays half-open; the next caller becomes the probe.
    if (p.probe && ts.probe === p.requestId) ts.probe = null;
    this.notify();
    if (!this.disposed) this.pump(ts);
  }

  /**
   * Records the dispatch, creates the lease and hands it to persistence.admit() before returning it
   * (write-ahead: the lease itself is the record, so admitting builds no rows). The admit is not
   * awaited: durability before anything goes out comes from the adapter. PolicyMirror posts the
   * policy.admit frame synchronously inside admit(), and the relay awaits the host's commit of the
   * journal's `admitted` row, sent later over the same FIFO native port, before it dispatches; the
   * host commits frames in order, so the dispatch is durable first. The target and window are also
   * marked dirty: their next debounced save carries the same dispatch, should the admit be lost.
   */
  private dispatch(ts: TargetState, requestId: string, probe: boolean, now: number, delays: StageDelays): EngineLease {
    ts.window.record(now);
    const lease = new EngineLease(requestId, ts.target, now, probe, delays, ts, this.owner);
    ts.leases.push(lease);
    this.writer.markTarget(ts);
    this.writer.markPlatform(ts.window);
    this.writer.admit(lease);
    this.notify();
    return lease;
  }

  // ---- outcomes --------------------------------------------------------------------------------

  private readonly owner: LeaseOwner = {
    touched: (lease, reason) => {
      const now = this.clock.now();
      lease.lastActivityMono = null;
      lease.touchedAt = now;
      lease.lastActivityReason = cut(reason, 64);
      // Kept on the lease only (the target's row and snapshot read it from there) and not marked
      // dirty: activity is saved with the next change of the target (a stream would otherwise write
      // a row per chunk); the stale sweep runs on the in-memory time.
      this.notify();
    },
    completed: (lease, outcome) => this.complete(lease, outcome),
  };

  private complete(lease: EngineLease, outcome: LeaseOutcome): void {
    lease.done = true;
    const ts = lease.state;
    ts.removeLease(lease);
    const now = this.clock.now();
    const probe = ts.probe === lease.requestId;
    if (probe) ts.probe = null;
    const f = ts.fields;
    const status = outcome?.status;
    if (status === 'success') {
      recordCircuitSuccess(f);
      f.backoffUntil = null;
      f.lastBackoffMs = 0;
      f.lastSuccessAt = now;
    } else if (status !== 'cancelled') {
      // A failure, or an outcome that is not one of the three (counted as a failure: safer).
      this.applyFailure(ts, now, status === 'failure' ? (outcome.code ?? 'failure') : 'internal_error', outcome?.message, outcome?.retryAfterMs, probe);
    }
    f.lastActivityAt = now;
    f.lastActivityReason = status === 'success' || status === 'cancelled' ? status : 'failure';
    this.writer.markTarget(ts);
    this.notify();
    if (ts.queue.length > 0) this.pump(ts);
  }

  /** Counts one failure: circuit, backoff (Retry-After wins if later), last error. */
  private applyFailure(ts: TargetState, now: number, code: string, message: string | undefined, retryAfterMs: number | undefined, probe: boolean): void {
    const f = ts.fields;
    const retryAfter = clampRetryAfterMs(this.config.backoff, retryAfterMs);
    recordCircuitFailure(f, this.config.circuitBreaker, now, probe, retryAfter);
    const backoffMs = nextBackoffMs(this.config.backoff, f.lastBackoffMs, f.consecutiveFailures, this.random);
    f.lastBackoffMs = backoffMs;
    f.backoffUntil = backoffDeadline(now, backoffMs, retryAfter, f.backoffUntil);
    const known = (ERROR_TABLE as Record<string, { meaning: string } | undefined>)[code];
    f.lastError = { code: cut(code, 64), message: cut(message ?? known?.meaning ?? code, 1024), at: now };
    f.lastFailureAt = now;
  }

  /** Reclaims leases idle past the stale timeout; each counts as a failure (a probe's re-opens the circuit). */
  private sweep(): void {
    const nowMono = this.clock.monotonic();
    const now = this.clock.now();
    let changed = false;
    for (const ts of this.targetList) {
      if (ts.leases.length === 0) continue;
      const stale = findStale(ts.leases, nowMono, now, this.lastSweepMono, this.config.staleLease.idleTimeoutMs);
      for (const { lease, idleMs } of stale) {
        lease.done = true;
        ts.removeLease(lease);
        const probe = ts.probe === lease.requestId;
        if (probe) ts.probe = null;
        this.applyFailure(ts, now, 'lease_reclaimed', `idle for ${idleMs} ms after ${lease.lastActivityReason}`, undefined, probe);
        const f = ts.fields;
        f.lastStaleSweepAt = now;
        f.lastStaleSweepIdleMs = idleMs;
        f.lastStaleSweepReason = cut(`idle after ${lease.lastActivityReason}`, 64);
        f.lastStaleSweepRequestId = lease.requestId;
        f.staleSweepCount += 1;
        f.lastActivityAt = now;
        f.lastActivityReason = 'reclaimed';
        this.writer.markTarget(ts);
        changed = true;
      }
      if (stale.length > 0) this.pump(ts);
    }
    this.lastSweepMono = nowMono;
    if (changed) this.notify();
  }

  // ---- manual controls -------------------------------------------------------------------------

  resetTarget(target: Target): boolean {
    // Validates like an admission, but never creates a target: a reset of an unknown client is a no-op.
    const ts = this.knownTarget(target);
    if (ts === undefined) {
      PolicyEngine.validateTarget(target);
      return false;
    }
    const f = ts.fields;
    recordCircuitSuccess(f);
    f.backoffUntil = null;
    f.lastBackoffMs = 0;
    f.lastActivityAt = this.clock.now();
    f.lastActivityReason = 'reset';
    // A probe in flight becomes an ordinary lease: the circuit is closed now.
    ts.probe = null;
    for (const p of ts.slotted) p.probe = false;
    this.writer.markTarget(ts);
    this.notify();
    this.wake(ts, 'backoff');
    this.pump(ts);
    return true;
  }

  pause(reason: string): void {
    const now = this.clock.now();
    this.system = { paused: true, pauseReason: cut(String(reason), 512), pausedAt: this.system.pausedAt ?? now };
    this.writer.markSystem();
    this.notify();
  }

  resume(): void {
    if (!this.system.paused) return;
    this.system = { paused: false, pauseReason: null, pausedAt: null };
    this.writer.markSystem();
    this.notify();
    for (const ts of this.targetList) {
      for (const p of [...ts.slotted]) if (p.parked) this.advance(p);
      this.pump(ts);
    }
  }

  // ---- errors ----------------------------------------------------------------------------------

  private pausedError(): ConductorError {
    const reason = this.system.pauseReason;
    return new ConductorError('paused', `dispatch is paused${reason === null ? '' : `: ${reason}`}`, { reason, since: this.system.pausedAt });
  }

  private circuitOpenError(retryAfterMs: number): ConductorError {
    return new ConductorError('circuit_open', `the circuit is open for another ${retryAfterMs} ms`, { retry_after_ms: retryAfterMs });
  }

  /** While the probe is out, the hint is the latest its outcome can be known: when the sweep would reclaim it. */
  private probeBusyError(ts: TargetState): ConductorError {
    const lease = ts.lease(ts.probe);
    const mono = this.clock.monotonic();
    const idleMs = lease === undefined ? 0 : mono - activityMono(lease, mono, this.clock.now(), this.lastSweepMono);
    const retryAfterMs = Math.round(reclaimBoundMs(this.config.staleLease, idleMs));
    return new ConductorError('circuit_half_open_busy', 'the circuit is half-open and its probe is in flight', { retry_after_ms: retryAfterMs });
  }

  private backoffError(retryAfterMs: number): ConductorError {
    return new ConductorError('backoff_active', `backing off for another ${retryAfterMs} ms, longer than maxWaitMs`, { retry_after_ms: retryAfterMs });
  }

  private rateError(retryAfterMs: number): ConductorError {
    return new ConductorError('rate_limited', `the platform window frees a slot in ${retryAfterMs} ms, later than maxWaitMs`, { retry_after_ms: retryAfterMs });
  }

  // ---- views and persistence -------------------------------------------------------------------

  getSnapshot(): PolicySnapshot {
    const now = this.clock.now();
    return {
      generatedAt: now,
      paused: { paused: this.system.paused, reason: this.system.pauseReason, since: this.system.pausedAt },
      defaults: this.config,
      platforms: [...this.windows.values()].map((w) => ({
        platform: w.platform,
        recentDispatchCount: w.count(now),
        limit: w.limit.requestsPerMinutePerPlatform,
        windowMs: w.limit.windowMs,
        nextSlotAt: w.nextSlotAt(now),
      })),
      targets: this.targetList.map((ts) => ts.toSnapshot()),
    };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    if (this.listeners.size === 0) return;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.log?.warn('policy onChange listener threw', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Marks the whole state dirty: a failed save is retried as a whole. */
  private markAll(): void {
    for (const ts of this.targetList) this.writer.markTarget(ts);
    for (const w of this.windows.values()) this.writer.markPlatform(w);
    this.writer.markSystem();
  }

  private systemRow(): PersistedSystem {
    return { version: POLICY_STATE_VERSION, ...this.system, updatedAt: this.clock.now() };
  }

  exportState(): LoadedPolicyState {
    const now = this.clock.now();
    return {
      targets: this.targetList.map((ts) => ts.toRow(now)),
      platforms: [...this.windows.values()].map((w) => w.toRow(now)),
      system: this.systemRow(),
    };
  }

  reconcile(other: LoadedPolicyState): void {
    this.absorb(restoreState(other, this.config, this.clock.now(), this.log), true);
    this.notify();
  }

  /**
   * Merges restored state into the live one, the stricter value winning. On reconcile the other
   * copy's in-flight entries are ignored (the live leases are the truth) and every entry that the
   * other copy lacks or holds looser is marked dirty, so it converges; on initialize the in-flight
   * entries are returned to be reported as interrupted.
   */
  private absorb(restored: RestoredState, reconciling: boolean): Map<TargetState, PersistedLease[]> {
    const now = this.clock.now();
    const inFlight = new Map<TargetState, PersistedLease[]>();
    const seenTargets = new Set<string>();
    for (const row of restored.targets) {
      const ts = this.targetFor(row);
      seenTargets.add(ts.key);
      const theirs: PersistedTarget = reconciling ? { ...row, inFlight: [] } : row;
      const merged = mergeTarget(ts.toRow(now), theirs);
      ts.fields = fieldsOf(merged);
      if (!reconciling) {
        const known = inFlight.get(ts) ?? [];
        for (const l of row.inFlight) if (!known.some((k) => k.requestId === l.requestId)) known.push(l);
        if (known.length > 0) inFlight.set(ts, known);
      } else if (!sameFields(ts.fields, fieldsOf(row))) this.writer.markTarget(ts);
    }
    const seenPlatforms = new Set<string>();
    for (const row of restored.platforms) {
      seenPlatforms.add(row.platform);
      const w = this.windowFor(row.platform);
      const merged = mergePlatform(w.toRow(now), row);
      w.replace(merged.dispatches, merged.lastDispatchAt);
      if (reconciling && merged.dispatches.length !== row.dispatches.length) this.writer.markPlatform(w);
    }
    const mine: PersistedSystem = this.systemRow();
    const system = mergeSystem(mine, restored.system) as PersistedSystem;
    this.system = { paused: system.paused, pauseReason: system.pauseReason, pausedAt: system.pausedAt };
    if (reconciling) {
      for (const ts of this.targetList) if (!seenTargets.has(ts.key)) this.writer.markTarget(ts);
      for (const w of this.windows.values()) if (!seenPlatforms.has(w.platform)) this.writer.markPlatform(w);
      if (restored.system === null || restored.system.paused !== system.paused) this.writer.markSystem();
    }
    return inFlight;
  }
}
