import { ConductorError, ERROR_TABLE } from '../../../shared/errors.js';
import { accountKey, ClientIdSchema, ContainerIdSchema, DEFAULT_CONTAINER, PlatformIdSchema, targetKey, type Account, type Target } from '../../../shared/platforms.js';
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
import { AccountState } from './account-state.js';
import { clampRetryAfterMs, nextBackoffMs } from './backoff.js';
import { gateCircuit, recordCircuitFailure, recordCircuitSuccess } from './circuit.js';
import { isThrottle } from './classify.js';
import { drawJitterMs, spreadHintMs } from './jitter.js';
import { Waiter } from './lease-queue.js';
import { ceilingGapMs, paceDispatched, paceSucceeded, paceThrottled } from './pace.js';
import { PersistenceWriter } from './persistence-writer.js';
import { RateWindow, rateLimitFor } from './rate-window.js';
import { laterOf, mergeAccount, mergeSystem, mergeTarget } from './reconcile.js';
import { restoreState, type RestoredState } from './restore.js';
import { findStale, StaleSweeper } from './stale-sweep.js';
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
 * The policy engine: decides when a relayed request may go out. The account (a platform through
 * one Firefox container) is the unit of safety: its window (the configured ceiling), every hold
 * (backoff, Retry-After, a usage cap's reset), its circuit (with a single half-open probe) and its
 * learned pace (pace.ts). A target (one client id) keeps only its FIFO slot and queue. Admission
 * runs: target validation, the account's circuit, the target's concurrency (FIFO), then the
 * account's line (arrival order across its targets; only its first caller is served), the
 * account's hold, window and pace, then jitter; the dispatch is written ahead: handed to
 * persistence.admit() before the lease is handed out. Pure: time, timers, chance and storage
 * are injected. When nothing has to wait, admission is synchronous.
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
  /** Accounts by platform, then container. */
  private readonly accounts = new Map<string, Map<string, AccountState>>();
  private readonly accountList: AccountState[] = [];
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
  /** Arrival counter: the order accounts serve their lines by. */
  private seq = 0;

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
        interrupted.push({ requestId: lease.requestId, target: ts.target, container: lease.container, admittedAt: lease.admittedAt });
        ts.interrupted += 1;
        const acct = this.accountFor({ platform: ts.target.platform, container: lease.container });
        // Its dispatch counts against the window even if the account row lost it.
        if (!acct.window.has(lease.admittedAt) && lease.admittedAt > now - acct.window.limit.windowMs) {
          acct.window.record(lease.admittedAt);
          this.writer.markAccount(acct);
        }
        if (this.config.persistence.interruptedCountsAsFailure) {
          this.applyFailure(acct, ts, now, 'interrupted', ERROR_TABLE.interrupted.meaning, undefined, lease.probe);
          this.writer.markAccount(acct);
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
   * Applies a new config live. The account windows keep their dispatches under the new limits,
   * the first caller of each line is re-checked (a looser limit frees it now) and the queues are
   * pumped (a looser concurrency frees waiters); deadlines already set (backoffUntil,
   * circuitRetryAt) and the learned paces stay; jitter, backoff, breaker, pace, stale-lease and
   * persistence knobs apply to what follows. Invalid input is refused with `bad_payload` naming the fields.
   */
  reconfigure(config: PolicyConfig): void {
    const next = validConfig(config);
    this.config = next;
    this.maxInFlight = next.concurrency.maxInFlightPerTarget;
    this.jitterOff = next.jitter.maxMs === 0;
    for (const a of this.accountList) a.window.limit = rateLimitFor(next, a.account.platform);
    this.writer.debounceMs = next.persistence.debounceMs;
    this.sweeper.setInterval(next.staleLease.sweepIntervalMs);
    this.notify();
    if (!this.ready) return;
    for (const a of this.accountList) this.wake(a);
    for (const ts of this.targetList) this.pump(ts);
  }

  // ---- admission -------------------------------------------------------------------------------

  beginRequest(target: Target, requestId: string, options?: BeginOptions): Promise<Lease> {
    if (!this.ready) return this.beginBeforeReady(target, requestId, options);
    try {
      const ts = this.targetFor(target);
      const acct = this.accountFor({ platform: ts.target.platform, container: options?.container ?? DEFAULT_CONTAINER });
      if (!validRequestId(requestId)) throw badRequestId();
      if (options !== undefined && options.signal?.aborted === true) throw abortedBefore();
      if (this.system.paused) throw this.pausedError();
      if (ts.has(requestId)) throw duplicate(requestId);
      const now = this.clock.now();
      // Fast path: the circuit closed and nothing to wait for; the rest (and every refusal) in admitLater.
      if (acct.fields.circuitState === 'closed' && this.nothingToWait(ts, acct, now)) return Promise.resolve(this.dispatch(ts, acct, requestId, false, now, NO_DELAYS));
      return this.admitLater(ts, acct, requestId, options, now);
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

  /** No jitter to sleep, nobody ahead on the target or the account, a free slot, and the account's hold, window and pace allow it now. */
  private nothingToWait(ts: TargetState, acct: AccountState, now: number): boolean {
    return this.jitterOff && ts.queue.length === 0 && ts.active < this.maxInFlight && acct.line.length === 0 && acct.nextAt(now) === null;
  }

  /** Admission when a stage may make the caller wait: a refusal now when the wait would pass its deadline, else a queued waiter. */
  private admitLater(ts: TargetState, acct: AccountState, requestId: string, options: BeginOptions | undefined, now: number): Promise<Lease> {
    const maxWaitMs = options?.maxWaitMs;
    const deadline = now + Math.max(0, maxWaitMs === undefined || maxWaitMs === null ? this.config.concurrency.waiterTimeoutMs : maxWaitMs);
    // An open circuit or a busy probe refuses only a caller whose deadline comes first; the others wait in line.
    const gate = gateCircuit(acct.fields, now, acct.probe !== null);
    if (gate.kind === 'open' && now + gate.retryAfterMs > deadline) throw this.circuitOpenError(gate.retryAfterMs);
    if (gate.kind === 'busy' && now + this.probeRemainingMs(acct) > deadline) throw this.probeBusyError(acct);
    const at = acct.nextAt(now);
    if (at !== null && at > deadline) throw this.holdError(acct, at - now);
    const probe = gate.kind === 'probe';
    if (probe) this.designateProbe(acct, requestId);

    const waiter = new Waiter<Lease>(this.clock);
    const p: PendingAdmission = {
      waiter,
      requestId,
      state: ts,
      account: acct,
      seq: this.seq++,
      startMono: this.clock.monotonic(),
      deadline,
      slotted: false,
      probe,
      jitterDone: false,
      parked: false,
      sleepKind: null,
      sleepStartMono: 0,
      backoffDelayMs: 0,
      rateLimitDelayMs: 0,
      jitterDelayMs: 0,
    };
    // The deadline bounds the whole wait (plus the longest jitter, which it does not cover).
    waiter.arm(deadline - now + this.config.jitter.maxMs, options?.signal, (err) => this.fail(p, err));
    ts.queue.push(p);
    acct.clients.add(ts.target.clientId);
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
    const ts = new TargetState(targetKey(target), target);
    let byClient = this.targets.get(ts.target.platform);
    if (byClient === undefined) {
      byClient = new Map();
      this.targets.set(ts.target.platform, byClient);
    }
    byClient.set(ts.target.clientId, ts);
    this.targetList.push(ts);
    return ts;
  }

  /** The account's live state, created on first sight (after validating the container). */
  private accountFor(account: Account): AccountState {
    const known = this.accounts.get(account.platform)?.get(account.container);
    if (known !== undefined) return known;
    const container = ContainerIdSchema.safeParse(account.container);
    if (!container.success) throw new ConductorError('invalid_target', `container: ${container.error.issues[0]?.message ?? 'invalid'}`, { field: 'container' });
    const acct = new AccountState(accountKey(account), account, new RateWindow(rateLimitFor(this.config, account.platform)));
    let byContainer = this.accounts.get(account.platform);
    if (byContainer === undefined) {
      byContainer = new Map();
      this.accounts.set(account.platform, byContainer);
    }
    byContainer.set(account.container, acct);
    this.accountList.push(acct);
    return acct;
  }

  private designateProbe(acct: AccountState, requestId: string): void {
    acct.probe = requestId;
    if (acct.fields.circuitState !== 'half_open') {
      acct.fields.circuitState = 'half_open';
      this.writer.markAccount(acct);
    }
  }

  /** Moves the target's queue into its accounts' lines while the target has a free slot. */
  private pump(ts: TargetState): void {
    if (ts.pumping) return;
    ts.pumping = true;
    try {
      while (ts.queue.length > 0 && ts.active < this.maxInFlight) {
        const p = ts.queue.shift() as PendingAdmission;
        p.slotted = true;
        ts.slotted.add(p);
        p.account.enter(p);
        this.serve(p.account);
      }
    } finally {
      ts.pumping = false;
    }
  }

  /** Serves the account's line: advances its first caller until one sleeps, parks, or the line is empty. */
  private serve(acct: AccountState): void {
    if (acct.serving) return;
    acct.serving = true;
    try {
      for (;;) {
        const head = acct.line[0];
        if (head === undefined || head.waiter.sleeping) return;
        this.advance(head);
        if (acct.line[0] === head) return;
      }
    } finally {
      acct.serving = false;
    }
  }

  /** Moves the first caller of a line through pause, circuit, hold, window, pace and jitter; sleeps, parks or fails where it must. */
  private advance(p: PendingAdmission): void {
    if (p.waiter.settled) return;
    const ts = p.state;
    const acct = p.account;
    const now = this.clock.now();
    if (this.system.paused) {
      // Jitter is drawn again after resume, so a resume does not release a machine-regular burst.
      p.parked = true;
      p.jitterDone = false;
      return;
    }
    p.parked = false;
    const gate = gateCircuit(acct.fields, now, acct.probe !== null && acct.probe !== p.requestId);
    if (gate.kind === 'open') {
      // Waits for the circuit's retry time when its deadline allows; then it may be the probe.
      if (now + gate.retryAfterMs > p.deadline) return this.fail(p, this.circuitOpenError(gate.retryAfterMs));
      return this.sleep(p, 'backoff', gate.retryAfterMs);
    }
    if (gate.kind === 'busy') {
      // The probe's outcome serves the line again; a caller whose deadline comes first is told so.
      if (now + this.probeRemainingMs(acct) > p.deadline) return this.fail(p, this.probeBusyError(acct));
      p.parked = true;
      return;
    }
    if (gate.kind === 'probe' && acct.probe === null) {
      p.probe = true;
      this.designateProbe(acct, p.requestId);
      this.notify();
    }
    const at = acct.nextAt(now);
    if (at !== null) {
      if (at > p.deadline) return this.fail(p, this.holdError(acct, at - now));
      const until = acct.fields.backoffUntil;
      return this.sleep(p, until !== null && until >= at ? 'backoff' : 'rate', at - now);
    }
    if (!p.jitterDone) {
      p.jitterDone = true;
      const jitterMs = drawJitterMs(this.config.jitter, this.random);
      if (jitterMs > 0) return this.sleep(p, 'jitter', jitterMs);
    }
    p.waiter.disarm();
    ts.slotted.delete(p);
    acct.leave(p);
    p.slotted = false;
    const waited = this.clock.monotonic() - p.startMono;
    const queueDelayMs = Math.max(0, waited - p.backoffDelayMs - p.rateLimitDelayMs - p.jitterDelayMs);
    const delays: StageDelays = { queueDelayMs, backoffDelayMs: p.backoffDelayMs, rateLimitDelayMs: p.rateLimitDelayMs, jitterDelayMs: p.jitterDelayMs };
    p.waiter.resolve(this.dispatch(ts, acct, p.requestId, acct.probe === p.requestId, now, delays));
  }

  private sleep(p: PendingAdmission, kind: 'backoff' | 'rate' | 'jitter', ms: number): void {
    p.sleepKind = kind;
    p.sleepStartMono = this.clock.monotonic();
    p.waiter.sleep(ms, () => {
      this.endSleep(p);
      this.serve(p.account);
    });
  }

  /** Wakes the account's first caller from a hold or window sleep, so it re-checks against the state as it is now. */
  private wake(acct: AccountState): void {
    const head = acct.line[0];
    if (head !== undefined && head.waiter.sleeping && head.sleepKind !== 'jitter') {
      head.waiter.clearStage();
      this.endSleep(head);
    }
    this.serve(acct);
  }

  /** Books the time slept to its stage. */
  private endSleep(p: PendingAdmission): void {
    const slept = Math.max(0, this.clock.monotonic() - p.sleepStartMono);
    if (p.sleepKind === 'backoff') p.backoffDelayMs += slept;
    else if (p.sleepKind === 'rate') p.rateLimitDelayMs += slept;
    else if (p.sleepKind === 'jitter') p.jitterDelayMs += slept;
    p.sleepKind = null;
  }

  /** Takes a caller out of wherever it waits and rejects it. */
  private fail(p: PendingAdmission, err: ConductorError): void {
    if (p.waiter.settled) return;
    const ts = p.state;
    const acct = p.account;
    p.waiter.reject(err);
    if (p.slotted) {
      ts.slotted.delete(p);
      acct.leave(p);
      p.slotted = false;
    } else ts.queue.remove(p);
    // The circuit stays half-open; the next caller becomes the probe.
    if (p.probe && acct.probe === p.requestId) acct.probe = null;
    this.notify();
    if (this.disposed) return;
    this.pump(ts);
    this.serve(acct);
  }

  /**
   * Records the dispatch, creates the lease and hands it to persistence.admit() before returning it
   * (write-ahead: the lease itself is the record, so admitting builds no rows). The admit is not
   * awaited: durability before anything goes out comes from the adapter. PolicyMirror posts the
   * policy.admit frame synchronously inside admit(), and the relay awaits the host's commit of the
   * journal's `admitted` row, sent later over the same FIFO native port, before it dispatches; the
   * host commits frames in order, so the dispatch is durable first. The target and account are also
   * marked dirty: their next debounced save carries the same dispatch, should the admit be lost.
   */
  private dispatch(ts: TargetState, acct: AccountState, requestId: string, probe: boolean, now: number, delays: StageDelays): EngineLease {
    paceDispatched(acct.pace, acct.window.lastDispatchAt, now);
    acct.window.record(now);
    acct.inFlight += 1;
    acct.clients.add(ts.target.clientId);
    const lease = new EngineLease(requestId, ts.target, acct.account.container, now, probe, delays, ts, acct, this.owner);
    ts.leases.push(lease);
    this.writer.markTarget(ts);
    this.writer.markAccount(acct);
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

  /** Ends a lease: frees its slot, counts its outcome on the account (circuit, hold, pace) and serves who waits. */
  private release(lease: EngineLease): { ts: TargetState; acct: AccountState; probe: boolean } {
    lease.done = true;
    const ts = lease.state;
    const acct = lease.account;
    ts.removeLease(lease);
    acct.inFlight -= 1;
    // Wall time, clamped: a monotonic stamp per admission is what the hot path cannot afford (see stale-sweep.ts).
    acct.took(Math.max(0, this.clock.now() - lease.admittedAt));
    const probe = acct.probe === lease.requestId;
    if (probe) acct.probe = null;
    return { ts, acct, probe };
  }

  private complete(lease: EngineLease, outcome: LeaseOutcome): void {
    const backlog = lease.state.queue.length > 0 || lease.account.line.length > 0;
    const { ts, acct, probe } = this.release(lease);
    const now = this.clock.now();
    const status = outcome?.status;
    if (status === 'success') {
      // A success closes the circuit but keeps any hold: what a throttle taught is not erased.
      recordCircuitSuccess(acct.fields);
      acct.fields.lastBackoffMs = 0;
      paceSucceeded(acct.pace, this.config.pace, ceilingGapMs(acct.window.limit), now, backlog, lease.admittedAt);
      ts.fields.lastSuccessAt = now;
    } else if (status !== 'cancelled') {
      // A failure, or an outcome that is not one of the three (counted as a failure: safer).
      this.applyFailure(acct, ts, now, status === 'failure' ? (outcome.code ?? 'failure') : 'internal_error', outcome?.message, outcome?.retryAfterMs, probe);
    }
    ts.fields.lastActivityAt = now;
    ts.fields.lastActivityReason = status === 'success' || status === 'cancelled' ? status : 'failure';
    this.writer.markTarget(ts);
    this.writer.markAccount(acct);
    this.notify();
    this.pump(ts);
    this.serve(acct);
  }

  /**
   * Counts one failure on the account: circuit; a throttle (429, usage cap) cuts the pace and holds
   * for its hint; any other failure backs off (Retry-After wins if later); the last error on both.
   */
  private applyFailure(acct: AccountState, ts: TargetState, now: number, code: string, message: string | undefined, retryAfterMs: number | undefined, probe: boolean): void {
    const f = acct.fields;
    const retryAfter = clampRetryAfterMs(this.config.backoff, retryAfterMs);
    recordCircuitFailure(f, this.config.circuitBreaker, now, probe, retryAfter);
    let holdMs: number;
    if (isThrottle(code)) {
      holdMs = paceThrottled(acct.pace, this.config.pace, ceilingGapMs(acct.window.limit), now, code, retryAfter);
    } else {
      f.lastBackoffMs = nextBackoffMs(this.config.backoff, f.lastBackoffMs, f.consecutiveFailures, this.random);
      holdMs = Math.max(f.lastBackoffMs, retryAfter);
    }
    f.backoffUntil = laterOf(f.backoffUntil, now + holdMs);
    const known = (ERROR_TABLE as Record<string, { meaning: string } | undefined>)[code];
    f.lastError = { code: cut(code, 64), message: cut(message ?? known?.meaning ?? code, 1024), at: now };
    ts.fields.lastError = f.lastError;
    ts.fields.lastFailureAt = now;
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
        const { acct, probe } = this.release(lease);
        this.applyFailure(acct, ts, now, 'lease_reclaimed', `idle for ${idleMs} ms after ${lease.lastActivityReason}`, undefined, probe);
        const f = ts.fields;
        f.lastStaleSweepAt = now;
        f.lastStaleSweepIdleMs = idleMs;
        f.lastStaleSweepReason = cut(`idle after ${lease.lastActivityReason}`, 64);
        f.lastStaleSweepRequestId = lease.requestId;
        f.staleSweepCount += 1;
        f.lastActivityAt = now;
        f.lastActivityReason = 'reclaimed';
        this.writer.markTarget(ts);
        this.writer.markAccount(acct);
        this.serve(acct);
        changed = true;
      }
      if (stale.length > 0) this.pump(ts);
    }
    this.lastSweepMono = nowMono;
    if (changed) this.notify();
  }

  // ---- manual controls -------------------------------------------------------------------------

  /**
   * Closes the circuit and clears the hold of every account the target used (the user's word that
   * the platform is fine again); the learned pace stays. False (and nothing created) for an unknown target.
   */
  resetTarget(target: Target): boolean {
    // Validates like an admission, but never creates a target: a reset of an unknown client is a no-op.
    const ts = this.knownTarget(target);
    if (ts === undefined) {
      PolicyEngine.validateTarget(target);
      return false;
    }
    const now = this.clock.now();
    ts.fields.lastActivityAt = now;
    ts.fields.lastActivityReason = 'reset';
    this.writer.markTarget(ts);
    for (const acct of this.accountList) {
      if (acct.account.platform !== ts.target.platform || !acct.clients.has(ts.target.clientId)) continue;
      const f = acct.fields;
      recordCircuitSuccess(f);
      f.backoffUntil = null;
      f.lastBackoffMs = 0;
      // A probe in flight becomes an ordinary lease: the circuit is closed now.
      acct.probe = null;
      for (const p of acct.line) p.probe = false;
      this.writer.markAccount(acct);
      this.wake(acct);
    }
    this.notify();
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
    for (const acct of this.accountList) this.serve(acct);
    for (const ts of this.targetList) this.pump(ts);
  }

  // ---- errors ----------------------------------------------------------------------------------

  private pausedError(): ConductorError {
    const reason = this.system.pauseReason;
    return new ConductorError('paused', `dispatch is paused${reason === null ? '' : `: ${reason}`}`, { reason, since: this.system.pausedAt });
  }

  /** A hint to come back in `ms`, spread so callers told at once do not return at once (never earlier than `ms`). */
  private hint(ms: number): number {
    return spreadHintMs(ms, this.random);
  }

  private circuitOpenError(retryAfterMs: number): ConductorError {
    return new ConductorError('circuit_open', `the circuit is open for another ${retryAfterMs} ms`, { retry_after_ms: this.hint(retryAfterMs) });
  }

  /**
   * How long the half-open probe is expected to take still: the median of the account's recent
   * leases less what the probe has run so far (at least a second); before any lease finished, one
   * gap of the configured window.
   */
  private probeRemainingMs(acct: AccountState): number {
    const typical = acct.typicalDurationMs() ?? ceilingGapMs(acct.window.limit);
    let running = 0;
    for (const ts of this.targetList) {
      const lease = ts.lease(acct.probe);
      if (lease !== undefined) running = Math.max(0, this.clock.now() - lease.admittedAt);
    }
    return Math.max(1_000, Math.round(typical - running));
  }

  /** While the probe is out, the hint is its expected remaining duration (not the stale-lease bound). */
  private probeBusyError(acct: AccountState): ConductorError {
    return new ConductorError('circuit_half_open_busy', 'the circuit is half-open and its probe is in flight', { retry_after_ms: this.hint(this.probeRemainingMs(acct)) });
  }

  /** The account holds (backoff, Retry-After, cap) or its window and pace are full past the caller's deadline. */
  private holdError(acct: AccountState, waitMs: number): ConductorError {
    const until = acct.fields.backoffUntil;
    const now = this.clock.now();
    if (until !== null && until - now >= waitMs) {
      return new ConductorError('backoff_active', `the account is held for another ${waitMs} ms, longer than maxWaitMs`, { retry_after_ms: this.hint(waitMs) });
    }
    return new ConductorError('rate_limited', `the account's window and pace free a slot in ${waitMs} ms, later than maxWaitMs`, { retry_after_ms: this.hint(waitMs) });
  }

  // ---- views and persistence -------------------------------------------------------------------

  getSnapshot(): PolicySnapshot {
    const now = this.clock.now();
    return {
      generatedAt: now,
      paused: { paused: this.system.paused, reason: this.system.pauseReason, since: this.system.pausedAt },
      defaults: this.config,
      accounts: this.accountList.map((a) => a.toSnapshot(now)),
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
    for (const a of this.accountList) this.writer.markAccount(a);
    this.writer.markSystem();
  }

  private systemRow(): PersistedSystem {
    return { version: POLICY_STATE_VERSION, ...this.system, updatedAt: this.clock.now() };
  }

  exportState(): LoadedPolicyState {
    const now = this.clock.now();
    return {
      targets: this.targetList.map((ts) => ts.toRow(now)),
      accounts: this.accountList.map((a) => a.toRow(now)),
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
    const seenAccounts = new Set<string>();
    for (const row of restored.accounts) {
      const acct = this.accountFor(row);
      seenAccounts.add(acct.key);
      const mine = acct.toRow(now);
      const merged = mergeAccount(mine, row);
      acct.window.replace(merged.dispatches, merged.lastDispatchAt);
      const { version: _v, platform: _p, container: _c, dispatches: _d, lastDispatchAt: _l, pace, clients, updatedAt: _u, ...fields } = merged;
      acct.fields = fields;
      acct.pace = pace;
      for (const c of clients) acct.clients.add(c);
      if (reconciling && JSON.stringify({ ...merged, updatedAt: 0 }) !== JSON.stringify({ ...row, updatedAt: 0 })) this.writer.markAccount(acct);
    }
    const mine: PersistedSystem = this.systemRow();
    const system = mergeSystem(mine, restored.system) as PersistedSystem;
    this.system = { paused: system.paused, pauseReason: system.pauseReason, pausedAt: system.pausedAt };
    if (reconciling) {
      for (const ts of this.targetList) if (!seenTargets.has(ts.key)) this.writer.markTarget(ts);
      for (const a of this.accountList) if (!seenAccounts.has(a.key)) this.writer.markAccount(a);
      if (restored.system === null || restored.system.paused !== system.paused) this.writer.markSystem();
    }
    return inFlight;
  }
}
