import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { DEFAULT_CONTAINER, type Target } from '../../../shared/platforms.js';
import { PolicyConfigSchema, type PolicyConfigInput } from '../../../shared/policy-config.js';
import type { PersistedAccount, PolicyChanges, PolicyPersistence } from '../../../shared/policy-state.js';
import { PolicySnapshotSchema, type AccountSnapshot, type TargetSnapshot } from '../../../shared/status.js';
import { PolicyEngine } from './engine.js';
import { FakeClock, track } from './test-clock.js';
import { MemoryPersistence, storedTarget } from './test-persistence.js';
import type { Lease, LeaseOutcome } from './types.js';

const T: Target = { clientId: 'agent', platform: 'claude' };
const T2: Target = { clientId: 'other', platform: 'claude' };
const FAIL: LeaseOutcome = { status: 'failure', code: 'upstream_5xx', httpStatus: 502 };
/** A caller that will not wait: an open circuit or busy probe is refused to it at once, with the hint. */
const NOW_OR_NEVER = { maxWaitMs: 0 };

/** No jitter or spacing, a roomy window and short backoff: each test turns on what it proves. */
const BASE = {
  rateLimit: { requestsPerMinutePerPlatform: 600, windowMs: 60_000, minSpacingMs: 0 },
  jitter: { muMs: 0, sigmaMs: 0, minMs: 0, maxMs: 0 },
  backoff: { strategy: 'full', baseMs: 1_000, maxMs: 10_000, maxRetryAfterMs: 3_600_000 },
  circuitBreaker: { failureThreshold: 3, openMs: 60_000, maxOpenMs: 600_000 },
  staleLease: { idleTimeoutMs: 60_000, sweepIntervalMs: 10_000 },
} as const;

type Sections = { [K in keyof PolicyConfigInput]?: Partial<NonNullable<PolicyConfigInput[K]>> };

function config(over: Sections = {}): PolicyConfigInput {
  const out: Record<string, unknown> = { ...BASE };
  for (const [k, v] of Object.entries(over)) out[k] = { ...(out[k] as object | undefined), ...v };
  return out as PolicyConfigInput;
}

async function setup(over: Sections = {}, opts: { persistence?: MemoryPersistence; clock?: FakeClock } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const persistence = opts.persistence ?? new MemoryPersistence();
  const warnings: string[] = [];
  const engine = new PolicyEngine({ config: config(over), persistence, clock, log: { warn: (m) => warnings.push(m) } });
  const { interrupted } = await engine.initialize();
  return { engine, clock, persistence, warnings, interrupted };
}

/** Begins a request and lets the clock run (in 100 ms steps) until it is admitted. */
async function admit(engine: PolicyEngine, clock: FakeClock, requestId: string, target: Target = T): Promise<Lease> {
  const r = track(engine.beginRequest(target, requestId));
  for (let i = 0; i < 10_000 && !r.done; i++) await clock.advance(i === 0 ? 0 : 100);
  if (r.error !== undefined) throw r.error;
  return r.value as Lease;
}

async function rejection(p: Promise<unknown>): Promise<ConductorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConductorError);
    return err as ConductorError;
  }
  throw new Error('expected a rejection');
}

/** A target's snapshot with its (default-container) account's circuit and hold: what holds the target. */
function targetOf(engine: PolicyEngine, target: Target = T): TargetSnapshot & AccountSnapshot {
  const snap = engine.getSnapshot();
  const t = snap.targets.find((x) => x.clientId === target.clientId && x.platform === target.platform);
  const a = snap.accounts.find((x) => x.platform === target.platform && x.container === DEFAULT_CONTAINER);
  if (t === undefined || a === undefined) throw new Error('target or account not in snapshot');
  return { ...a, ...t };
}

/** The retry hint the engine hands out for an honest wait of `ms`, spread (de-synchronised) with the fake clock's random 0.5. */
const spread = (ms: number): number => ms + Math.floor(0.5 * Math.min(60_000, Math.max(1_000, ms * 0.1)));

/** Trips the circuit of T with `threshold` failures; returns the trip time. */
async function trip(engine: PolicyEngine, clock: FakeClock, threshold = 3): Promise<number> {
  for (let i = 0; i < threshold; i++) (await admit(engine, clock, `fail-${clock.now()}-${i}`)).complete(FAIL);
  expect(targetOf(engine).circuitState).toBe('open');
  return clock.now();
}

describe('PolicyEngine: admission', () => {
  it('admits at once when nothing has to wait, with every delay zero', async () => {
    const { engine, clock } = await setup();
    const lease = await engine.beginRequest(T, 'r1');
    expect(lease.admission).toEqual({ admittedAt: clock.now(), queueDelayMs: 0, backoffDelayMs: 0, rateLimitDelayMs: 0, jitterDelayMs: 0, probe: false });
    expect(lease.requestId).toBe('r1');
    expect(lease.target).toEqual(T);
    expect(targetOf(engine).inFlight).toBe(1);
  });

  it('rejects malformed targets with invalid_target and a malformed request id with bad_payload', async () => {
    const { engine } = await setup();
    expect((await rejection(engine.beginRequest({ clientId: '', platform: 'claude' }, 'r'))).code).toBe('invalid_target');
    expect((await rejection(engine.beginRequest({ clientId: 'a', platform: '' }, 'r'))).code).toBe('invalid_target');
    expect((await rejection(engine.beginRequest({ clientId: 'a', platform: 'Claude!' }, 'r'))).details).toEqual({ field: 'platform' });
    expect((await rejection(engine.beginRequest(null as unknown as Target, 'r'))).code).toBe('invalid_target');
    expect((await rejection(engine.beginRequest(T, '', NOW_OR_NEVER))).code).toBe('bad_payload');
    expect(engine.getSnapshot().targets.map((t) => t.clientId)).toEqual(['agent']);
  });

  it('rejects a request id already admitted or waiting on the target', async () => {
    const { engine } = await setup();
    await engine.beginRequest(T, 'r1');
    expect((await rejection(engine.beginRequest(T, 'r1', NOW_OR_NEVER))).code).toBe('duplicate_request');
    track(engine.beginRequest(T, 'r2'));
    expect((await rejection(engine.beginRequest(T, 'r2', NOW_OR_NEVER))).code).toBe('duplicate_request');
  });

  it('rejects a config out of range with bad_payload naming the field', () => {
    const make = (cfg: unknown) => new PolicyEngine({ config: cfg as PolicyConfigInput, persistence: new MemoryPersistence(), clock: new FakeClock() });
    expect(() => make({ rateLimit: { requestsPerMinutePerPlatform: 0 } })).toThrow(/rateLimit\.requestsPerMinutePerPlatform/);
    expect(() => make({ jitter: { minMs: 5000, maxMs: 100 } })).toThrow(ConductorError);
  });

  it('waits for initialize() when it is under way, and refuses to run without it', async () => {
    const clock = new FakeClock();
    const engine = new PolicyEngine({ config: config(), persistence: new MemoryPersistence(), clock });
    expect((await rejection(engine.beginRequest(T, 'r0', NOW_OR_NEVER))).code).toBe('internal_error');
    const init = engine.initialize();
    const lease = track(engine.beginRequest(T, 'r1'));
    await init;
    await clock.advance(0);
    expect(lease.value?.requestId).toBe('r1');
    expect(engine.initialize()).toBe(init);
  });

  it('lets at most maxInFlightPerTarget leases out and queues the rest FIFO', async () => {
    const { engine, clock } = await setup({ concurrency: { maxInFlightPerTarget: 2 } });
    const a = await engine.beginRequest(T, 'a');
    await engine.beginRequest(T, 'b');
    const order: string[] = [];
    for (const id of ['c', 'd', 'e']) void engine.beginRequest(T, id).then((l) => order.push(l.requestId));
    await clock.advance(0);
    expect(targetOf(engine)).toMatchObject({ inFlight: 2, waiting: 3 });
    await clock.advance(1_000);
    a.complete({ status: 'success' });
    await clock.advance(0);
    expect(order).toEqual(['c']);
    const snapshot = targetOf(engine);
    expect(snapshot).toMatchObject({ inFlight: 2, waiting: 2 });
  });

  it('reports the queue wait in the admission', async () => {
    const { engine, clock } = await setup();
    const first = await engine.beginRequest(T, 'r1');
    const second = track(engine.beginRequest(T, 'r2'));
    await clock.advance(2_500);
    first.complete({ status: 'success' });
    await clock.advance(0);
    expect(second.value?.admission).toMatchObject({ queueDelayMs: 2_500, backoffDelayMs: 0, rateLimitDelayMs: 0 });
  });

  it('gives a waiter up with waiter_timeout after waiterTimeoutMs', async () => {
    const { engine, clock } = await setup({ concurrency: { waiterTimeoutMs: 5_000 } });
    const first = await engine.beginRequest(T, 'r1');
    const waiting = track(engine.beginRequest(T, 'r2'));
    await clock.advance(4_999);
    expect(waiting.done).toBe(false);
    expect(targetOf(engine).waiting).toBe(1);
    await clock.advance(1);
    expect(waiting.error?.code).toBe('waiter_timeout');
    expect(targetOf(engine).waiting).toBe(0);
    first.complete({ status: 'success' });
    expect((await engine.beginRequest(T, 'r3')).requestId).toBe('r3');
  });

  it('takes an aborted caller out of the queue at once, and the next one moves up', async () => {
    const { engine, clock } = await setup();
    const first = await engine.beginRequest(T, 'r1');
    const controller = new AbortController();
    const aborted = track(engine.beginRequest(T, 'r2', { signal: controller.signal }));
    const next = track(engine.beginRequest(T, 'r3'));
    await clock.advance(10);
    expect(targetOf(engine).waiting).toBe(2);
    controller.abort();
    await clock.advance(0);
    expect(aborted.error?.code).toBe('cancelled');
    expect(targetOf(engine).waiting).toBe(1);
    first.complete({ status: 'success' });
    await clock.advance(0);
    expect(next.value?.requestId).toBe('r3');
    // Already aborted: rejected before queueing.
    const gone = new AbortController();
    gone.abort();
    expect((await rejection(engine.beginRequest(T2, 'r4', { signal: gone.signal }))).code).toBe('cancelled');
  });
});

describe('PolicyEngine: circuit breaker', () => {
  it('opens after failureThreshold failures and rejects with the remaining open time', async () => {
    const { engine, clock } = await setup();
    const trippedAt = await trip(engine, clock);
    expect(targetOf(engine)).toMatchObject({ circuitState: 'open', consecutiveFailures: 3, trips: 1, circuitRetryAt: trippedAt + 60_000 });
    const err = await rejection(engine.beginRequest(T, 'r', NOW_OR_NEVER));
    expect(err.code).toBe('circuit_open');
    expect(err.details).toEqual({ retry_after_ms: spread(60_000) });
    await clock.advance(15_000);
    expect((await rejection(engine.beginRequest(T, 'r', NOW_OR_NEVER))).details).toEqual({ retry_after_ms: spread(45_000) });
    // The circuit is the account's: another client id of it is refused too; another container's account is not affected.
    expect((await rejection(engine.beginRequest(T2, 'x', NOW_OR_NEVER))).code).toBe('circuit_open');
    expect((await engine.beginRequest(T2, 'y', { container: 'firefox-container-2' })).requestId).toBe('y');
  });

  it('half-open admits exactly one probe; the others are rejected busy until it ends', async () => {
    const { engine, clock } = await setup();
    await trip(engine, clock);
    await clock.advance(60_000);
    const probe = await engine.beginRequest(T, 'probe');
    expect(probe.admission.probe).toBe(true);
    expect(targetOf(engine).circuitState).toBe('half_open');
    for (const id of ['b1', 'b2']) {
      const err = await rejection(engine.beginRequest(T2, id, NOW_OR_NEVER));
      expect(err.code).toBe('circuit_half_open_busy');
      // the probe's expected duration: the leases so far ended at once, so the least hint (a second)
      expect(err.details).toEqual({ retry_after_ms: spread(1_000) });
    }
    expect(targetOf(engine).inFlight).toBe(1);
    probe.complete({ status: 'success' });
    // The success closes the circuit; the old hold stays recorded (long past) rather than erased.
    expect(targetOf(engine)).toMatchObject({ circuitState: 'closed', consecutiveFailures: 0, trips: 0, circuitRetryAt: null });
    expect(targetOf(engine).backoffUntil ?? 0).toBeLessThanOrEqual(clock.now());
    expect((await engine.beginRequest(T, 'after')).admission.probe).toBe(false);
  });

  it('re-opens on a failed probe for longer each trip (openMs × trips)', async () => {
    const { engine, clock } = await setup();
    await trip(engine, clock);
    await clock.advance(60_000);
    (await engine.beginRequest(T, 'probe1')).complete(FAIL);
    expect((await rejection(engine.beginRequest(T, 'r', NOW_OR_NEVER))).details).toEqual({ retry_after_ms: spread(120_000) });
    expect(targetOf(engine).trips).toBe(2);
  });

  it('a cancelled probe leaves the circuit half-open for the next caller to probe', async () => {
    const { engine, clock } = await setup();
    await trip(engine, clock);
    await clock.advance(60_000);
    (await engine.beginRequest(T, 'probe1')).complete({ status: 'cancelled' });
    expect(targetOf(engine).circuitState).toBe('half_open');
    expect((await engine.beginRequest(T, 'probe2')).admission.probe).toBe(true);
  });

  it('keeps the circuit open as long as a longer Retry-After asks', async () => {
    const { engine, clock } = await setup();
    for (let i = 0; i < 2; i++) (await admit(engine, clock, `f${i}`)).complete(FAIL);
    (await admit(engine, clock, 'f3')).complete({ status: 'failure', code: 'upstream_429', retryAfterMs: 600_000 });
    expect((await rejection(engine.beginRequest(T, 'r', NOW_OR_NEVER))).details).toEqual({ retry_after_ms: spread(600_000) });
  });

  it('resetTarget closes the circuit and clears backoff', async () => {
    const { engine, clock } = await setup();
    await trip(engine, clock);
    engine.resetTarget(T);
    expect(targetOf(engine)).toMatchObject({ circuitState: 'closed', consecutiveFailures: 0, backoffUntil: null, circuitRetryAt: null });
    expect((await engine.beginRequest(T, 'r')).admission.probe).toBe(false);
    expect(() => engine.resetTarget({ clientId: '', platform: 'claude' })).toThrow(ConductorError);
  });

  it('resetTarget of an unknown target answers false and creates nothing', async () => {
    const { engine, clock, persistence } = await setup();
    const before = engine.getSnapshot().targets.length;
    expect(engine.resetTarget({ clientId: 'nobody', platform: 'claude' })).toBe(false);
    await clock.advance(1_000);
    expect(engine.getSnapshot().targets).toHaveLength(before);
    expect(persistence.saves.flatMap((save) => save.targets).some((t) => t.clientId === 'nobody')).toBe(false);
  });
});

describe('PolicyEngine: backoff', () => {
  it('waits out the backoff after a failure and reports it', async () => {
    const { engine, clock } = await setup();
    (await engine.beginRequest(T, 'r1')).complete(FAIL);
    // full jitter, first failure, random 0.5: 500 ms
    expect(targetOf(engine).backoffUntil).toBe(clock.now() + 500);
    const next = track(engine.beginRequest(T, 'r2'));
    await clock.advance(499);
    expect(next.done).toBe(false);
    await clock.advance(1);
    expect(next.value?.admission).toMatchObject({ backoffDelayMs: 500, queueDelayMs: 0 });
  });

  it('lets a Retry-After beat a shorter backoff, capped at maxRetryAfterMs', async () => {
    const { engine, clock } = await setup({ backoff: { maxRetryAfterMs: 3_600_000 } });
    (await engine.beginRequest(T, 'r1')).complete({ status: 'failure', code: 'upstream_429', retryAfterMs: 30_000 });
    expect(targetOf(engine).backoffUntil).toBe(clock.now() + 30_000);
    const next = track(engine.beginRequest(T, 'r2'));
    await clock.advance(30_000);
    expect(next.value?.admission.backoffDelayMs).toBe(30_000);
    next.value?.complete({ status: 'failure', code: 'upstream_429', retryAfterMs: 10 * 3_600_000 });
    expect(targetOf(engine).backoffUntil).toBe(clock.now() + 3_600_000);
  });

  it('keeps a longer backoff over a shorter Retry-After', async () => {
    const { engine, clock } = await setup({ backoff: { baseMs: 20_000, maxMs: 60_000 } });
    clock.queueRandom(0.9);
    (await engine.beginRequest(T, 'r1')).complete({ status: 'failure', code: 'upstream_5xx', retryAfterMs: 5_000 });
    expect(targetOf(engine).backoffUntil).toBe(clock.now() + 18_000);
  });

  it('resetTarget wakes a caller sleeping on the backoff', async () => {
    const { engine, clock } = await setup();
    (await engine.beginRequest(T, 'r1')).complete({ status: 'failure', code: 'upstream_429', retryAfterMs: 30_000 });
    const next = track(engine.beginRequest(T, 'r2'));
    await clock.advance(1_000);
    engine.resetTarget(T);
    await clock.advance(0);
    expect(next.value?.admission).toMatchObject({ backoffDelayMs: 1_000, queueDelayMs: 0 });
  });

  it('with maxWaitMs, rejects at once with backoff_active and the wait it would need', async () => {
    const { engine, clock } = await setup();
    (await engine.beginRequest(T, 'r1')).complete({ status: 'failure', code: 'upstream_429', retryAfterMs: 30_000 });
    const err = await rejection(engine.beginRequest(T, 'r2', { maxWaitMs: 1_000 }));
    expect(err.code).toBe('backoff_active');
    expect(err.details).toEqual({ retry_after_ms: spread(30_000) });
    const patient = track(engine.beginRequest(T, 'r3', { maxWaitMs: 40_000 }));
    await clock.advance(30_000);
    expect(patient.value?.admission.backoffDelayMs).toBe(30_000);
  });
});

describe('PolicyEngine: platform rate limit and jitter', () => {
  it('holds dispatches of one platform to the window, waiting for the oldest to expire', async () => {
    const { engine, clock } = await setup({ rateLimit: { requestsPerMinutePerPlatform: 2 } });
    await engine.beginRequest(T, 'a');
    await clock.advance(10_000);
    await engine.beginRequest(T2, 'b');
    const third = track(engine.beginRequest({ clientId: 'third', platform: 'claude' }, 'c'));
    await clock.advance(49_999);
    expect(third.done).toBe(false);
    await clock.advance(1);
    expect(third.value?.admission.rateLimitDelayMs).toBe(50_000);
    // another platform has its own window
    expect((await engine.beginRequest({ clientId: 'agent', platform: 'gemini' }, 'g')).admission.rateLimitDelayMs).toBe(0);
  });

  it('with maxWaitMs, rejects at once with rate_limited and the wait it would need', async () => {
    const { engine } = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 } });
    await engine.beginRequest(T, 'a');
    const err = await rejection(engine.beginRequest(T2, 'b', { maxWaitMs: 0 }));
    expect(err.code).toBe('rate_limited');
    expect(err.details).toEqual({ retry_after_ms: spread(60_000) });
  });

  it('applies a per-platform override', async () => {
    const { engine } = await setup({ platformRateLimits: { gemini: { requestsPerMinutePerPlatform: 1 } } });
    await engine.beginRequest({ clientId: 'a', platform: 'gemini' }, 'a');
    expect((await rejection(engine.beginRequest({ clientId: 'b', platform: 'gemini' }, 'b', { maxWaitMs: 0 }))).code).toBe('rate_limited');
    await engine.beginRequest({ clientId: 'b', platform: 'claude' }, 'b');
  });

  it('keeps the minimum spacing between dispatches of a platform', async () => {
    const { engine, clock } = await setup({ rateLimit: { minSpacingMs: 3_000 } });
    await engine.beginRequest(T, 'a');
    await clock.advance(1_000);
    const next = track(engine.beginRequest(T2, 'b'));
    await clock.advance(2_000);
    expect(next.value?.admission.rateLimitDelayMs).toBe(2_000);
  });

  it('sleeps a jitter before dispatch; the account line keeps the slot its own, so nobody else takes it meanwhile', async () => {
    const { engine, clock } = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 }, jitter: { muMs: 1_000, sigmaMs: 0, minMs: 0, maxMs: 5_000 } });
    const first = track(engine.beginRequest(T, 'a'));
    await clock.advance(0);
    expect(first.done).toBe(false);
    const second = track(engine.beginRequest(T2, 'b', { maxWaitMs: 0 }));
    await clock.advance(0);
    expect(engine.getSnapshot().accounts[0]).toMatchObject({ recentDispatchCount: 0, waiting: 2 });
    await clock.advance(1_000);
    expect(first.value?.admission).toMatchObject({ jitterDelayMs: 1_000, queueDelayMs: 0, admittedAt: clock.now() });
    expect(second.error?.code).toBe('rate_limited');
    expect(engine.getSnapshot().accounts[0]?.recentDispatchCount).toBe(1);
  });
});

describe('PolicyEngine: leases', () => {
  it('counts a completion once, however often it is called', async () => {
    const { engine } = await setup();
    const lease = await engine.beginRequest(T, 'r1');
    lease.complete(FAIL);
    lease.complete(FAIL);
    lease.complete({ status: 'success' });
    expect(lease.done).toBe(true);
    expect(targetOf(engine)).toMatchObject({ consecutiveFailures: 1, inFlight: 0, lastError: { code: 'upstream_5xx' } });
  });

  it('counts a cancelled lease neither way and frees its slot', async () => {
    const { engine, clock } = await setup();
    (await engine.beginRequest(T, 'r1')).complete(FAIL);
    const account = () => engine.getSnapshot().accounts[0] as AccountSnapshot;
    const { consecutiveFailures, backoffUntil, lastError } = account();
    const lease = await admit(engine, clock, 'r2', T2);
    lease.complete({ status: 'cancelled' });
    expect(account()).toMatchObject({ consecutiveFailures, backoffUntil, lastError, inFlight: 0 });
    expect(targetOf(engine, T2)).toMatchObject({ lastSuccessAt: null, lastError: null, inFlight: 0 });
  });

  it('sweeps a lease idle past the stale timeout, counting it as a failure', async () => {
    const { engine, clock } = await setup();
    const lease = await engine.beginRequest(T, 'r1');
    await clock.advance(30_000);
    lease.touch('chunk');
    expect(targetOf(engine)).toMatchObject({ lastActivityAt: clock.now(), lastActivityReason: 'chunk' });
    await clock.advance(50_000);
    expect(lease.done).toBe(false);
    await clock.advance(10_000);
    expect(lease.done).toBe(true);
    expect(targetOf(engine)).toMatchObject({
      inFlight: 0,
      consecutiveFailures: 1,
      lastError: { code: 'lease_reclaimed' },
      staleSweepCount: 1,
      lastStaleSweepAt: clock.now(),
      lastStaleSweepIdleMs: 60_000,
      lastStaleSweepReason: 'idle after chunk',
      lastStaleSweepRequestId: 'r1',
      lastActivityAt: clock.now(),
      lastActivityReason: 'reclaimed',
    });
    // Its late completion changes nothing.
    lease.complete({ status: 'success' });
    expect(targetOf(engine).consecutiveFailures).toBe(1);
  });

  it('a probe that never completes is swept and re-opens the circuit', async () => {
    const { engine, clock } = await setup();
    await trip(engine, clock);
    await clock.advance(60_000);
    const probe = await engine.beginRequest(T, 'probe');
    await clock.advance(70_000);
    expect(probe.done).toBe(true);
    expect(targetOf(engine)).toMatchObject({ circuitState: 'open', trips: 2, staleSweepCount: 1, lastStaleSweepRequestId: 'probe' });
    expect((await rejection(engine.beginRequest(T, 'r', NOW_OR_NEVER))).code).toBe('circuit_open');
  });
});

describe('PolicyEngine: pause', () => {
  it('admits nothing while paused: new callers are rejected, waiters wait for resume', async () => {
    const { engine, clock } = await setup();
    const first = await engine.beginRequest(T, 'r1');
    const waiting = track(engine.beginRequest(T, 'r2'));
    engine.pause('captcha');
    const err = await rejection(engine.beginRequest(T2, 'r3', NOW_OR_NEVER));
    expect(err.code).toBe('paused');
    expect(err.details).toMatchObject({ reason: 'captcha' });
    expect(engine.getSnapshot().paused).toEqual({ paused: true, reason: 'captcha', since: clock.now() });
    first.complete({ status: 'success' });
    await clock.advance(5_000);
    expect(waiting.done).toBe(false);
    engine.resume();
    await clock.advance(0);
    expect(waiting.value?.admission.queueDelayMs).toBe(5_000);
    expect(engine.getSnapshot().paused).toEqual({ paused: false, reason: null, since: null });
  });

  it('lets a paused waiter time out', async () => {
    const { engine, clock } = await setup({ concurrency: { waiterTimeoutMs: 2_000 } });
    const first = await engine.beginRequest(T, 'r1');
    const waiting = track(engine.beginRequest(T, 'r2'));
    engine.pause('user');
    first.complete({ status: 'success' });
    await clock.advance(2_000);
    expect(waiting.error?.code).toBe('waiter_timeout');
  });
});

describe('PolicyEngine: views', () => {
  it('getSnapshot reports the config, each account (window, circuit, pace, clients) and each target', async () => {
    const { engine, clock } = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 } });
    const lease = await engine.beginRequest(T, 'r1');
    const admittedAt = clock.now();
    track(engine.beginRequest(T, 'r2'));
    lease.touch('chunk');
    const snap = PolicySnapshotSchema.parse(engine.getSnapshot());
    expect(snap.defaults.rateLimit.requestsPerMinutePerPlatform).toBe(1);
    expect(snap.accounts).toEqual([
      {
        platform: 'claude',
        container: 'firefox-default',
        circuitState: 'closed',
        consecutiveFailures: 0,
        trips: 0,
        circuitRetryAt: null,
        backoffUntil: null,
        lastError: null,
        recentDispatchCount: 1,
        limit: 1,
        windowMs: 60_000,
        nextSlotAt: admittedAt + 60_000,
        pace: { intervalMs: null, pinned: false, lastCutAt: null, lastCutReason: null },
        inFlight: 1,
        waiting: 0,
        clients: ['agent'],
      },
    ]);
    expect(snap.targets).toEqual([
      {
        clientId: 'agent',
        platform: 'claude',
        inFlight: 1,
        waiting: 1,
        interrupted: 0,
        lastError: null,
        lastSuccessAt: null,
        lastFailureAt: null,
        lastActivityAt: admittedAt,
        lastActivityReason: 'chunk',
        lastStaleSweepAt: null,
        lastStaleSweepIdleMs: null,
        lastStaleSweepReason: null,
        lastStaleSweepRequestId: null,
        staleSweepCount: 0,
      },
    ]);
    lease.complete(FAIL);
    expect(targetOf(engine)).toMatchObject({ lastFailureAt: clock.now(), lastActivityReason: 'failure', lastError: { code: 'upstream_5xx', at: clock.now() } });
  });

  it('onChange fires on every change until unsubscribed', async () => {
    const { engine } = await setup();
    let calls = 0;
    const off = engine.onChange(() => calls++);
    const lease = await engine.beginRequest(T, 'r1');
    const afterAdmission = calls;
    expect(afterAdmission).toBeGreaterThan(0);
    lease.complete({ status: 'success' });
    expect(calls).toBeGreaterThan(afterAdmission);
    engine.pause('x');
    const paused = calls;
    expect(paused).toBeGreaterThan(afterAdmission + 1);
    off();
    engine.resume();
    expect(calls).toBe(paused);
  });
});

describe('PolicyEngine: persistence', () => {
  it('writes the admission ahead: admit() gets the lease before it is handed out, on either path; the rows follow debounced', async () => {
    const clock = new FakeClock();
    const events: string[] = [];
    const saves: PolicyChanges[] = [];
    const handedOff: PolicyPersistence = {
      load: async () => ({ targets: [], system: null }),
      save: (changes) => {
        saves.push(structuredClone(changes));
        events.push(`save ${changes.targets.flatMap((t) => t.inFlight.map((l) => l.requestId)).join(',')}`);
        // Never durable here: the engine must not wait for it (durability is the adapter's, see engine.ts).
        return new Promise<void>(() => {});
      },
      admit: (lease) => events.push(`admit ${lease.requestId} at ${lease.admittedAt}${lease.probe ? ' probe' : ''}`),
    };
    const engine = new PolicyEngine({ config: config(), persistence: handedOff, clock });
    await engine.initialize();
    const follow = (id: string) =>
      track(
        engine.beginRequest(T, id).then((lease) => {
          events.push(`lease ${lease.requestId}`);
          return lease;
        }),
      );
    const t0 = clock.now();
    // The fast path: nothing to wait for.
    const first = follow('r1');
    // The slow path: queued behind r1's slot, admitted when r1 completes.
    const second = follow('r2');
    expect(events).toEqual([`admit r1 at ${t0}`]);
    await clock.advance(0);
    expect(first.value?.requestId).toBe('r1');
    expect(second.done).toBe(false);
    first.value?.complete({ status: 'success' });
    await clock.advance(0);
    expect(second.value?.requestId).toBe('r2');
    expect(events).toEqual([`admit r1 at ${t0}`, 'lease r1', `admit r2 at ${t0}`, 'lease r2']);
    // The debounced save then carries the same state as rows.
    await clock.advance(25);
    expect(events.at(-1)).toBe('save r2');
    expect(saves[0]?.targets[0]?.inFlight).toEqual([{ requestId: 'r2', container: 'firefox-default', admittedAt: t0, lastActivityAt: t0, probe: false }]);
    expect(saves[0]?.accounts[0]?.dispatches).toEqual([t0, t0]);
  });

  it('a crash right after admission, before any save: the admit alone keeps the dispatch counted and the lease interrupted', async () => {
    const first = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 } });
    const lease = await first.engine.beginRequest(T, 'r1');
    expect(first.persistence.saves).toHaveLength(0);
    expect(first.persistence.admits.map((a) => a.requestId)).toEqual(['r1']);
    first.engine.dispose();
    const second = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 } }, { persistence: first.persistence.reopen(), clock: first.clock.restarted(10_000) });
    expect(second.interrupted).toEqual([{ requestId: 'r1', target: T, container: 'firefox-default', admittedAt: lease.admission.admittedAt }]);
    expect((await rejection(second.engine.beginRequest(T, 'r2', { maxWaitMs: 0 }))).details).toEqual({ retry_after_ms: spread(50_000) });
  });

  it('keeps the lease when its admit is lost and its save fails, warns, and saves the rows again', async () => {
    const { engine, clock, persistence, warnings } = await setup();
    persistence.failWith = new ConductorError('host_unavailable', 'no host');
    const lease = await engine.beginRequest(T, 'r1');
    expect(lease.done).toBe(false);
    expect(targetOf(engine).inFlight).toBe(1);
    expect(persistence.admits).toHaveLength(0);
    await clock.advance(25);
    expect(warnings).toEqual(['policy state save failed; will retry']);
    expect(persistence.saves).toHaveLength(0);
    persistence.failWith = null;
    await clock.advance(1_000);
    expect(persistence.saves).toHaveLength(1);
    expect(persistence.saves[0]?.targets[0]?.inFlight.map((l) => l.requestId)).toEqual(['r1']);
    expect(persistence.saves[0]?.accounts[0]?.dispatches).toHaveLength(1);
  });

  it('saves incrementally: a change to one target writes only its row and its account’s', async () => {
    const { engine, clock, persistence } = await setup();
    for (const clientId of ['a', 'b', 'c']) (await engine.beginRequest({ clientId, platform: 'claude' }, `r-${clientId}`)).complete({ status: 'success' });
    (await engine.beginRequest({ clientId: 'd', platform: 'claude' }, 'r-d', { container: 'c2' })).complete({ status: 'success' });
    await engine.flush();
    const before = persistence.saves.length;
    engine.resetTarget({ clientId: 'b', platform: 'claude' });
    await clock.advance(24);
    expect(persistence.saves.length).toBe(before);
    await clock.advance(1);
    expect(persistence.saves.slice(before).map((s) => ({ targets: s.targets.map((t) => t.clientId), accounts: s.accounts.map((a) => a.container), system: s.system }))).toEqual([
      { targets: ['b'], accounts: ['firefox-default'], system: null },
    ]);
    // a completion is coalesced into one debounced save of its target only
    const lease = await engine.beginRequest({ clientId: 'c', platform: 'claude' }, 'r2');
    const afterAdmission = persistence.saves.length;
    lease.touch('chunk');
    lease.complete({ status: 'success' });
    await clock.advance(25);
    expect(persistence.saves.slice(afterAdmission).map((s) => [s.targets.map((t) => t.clientId), s.accounts.length])).toEqual([[['c'], 1]]);
  });

  it('a restarted engine keeps the circuit open with its remaining time', async () => {
    const first = await setup();
    const trippedAt = await trip(first.engine, first.clock);
    await first.engine.flush();
    first.engine.dispose();
    const clock = first.clock.restarted(20_000);
    const second = await setup({}, { persistence: first.persistence.reopen(), clock });
    const err = await rejection(second.engine.beginRequest(T, 'r', NOW_OR_NEVER));
    expect(err.code).toBe('circuit_open');
    expect(err.details).toEqual({ retry_after_ms: spread(trippedAt + 60_000 - clock.now()) });
    expect(err.details?.retry_after_ms).toBe(spread(40_000));
    await clock.advance(40_000);
    expect((await second.engine.beginRequest(T, 'probe')).admission.probe).toBe(true);
  });

  it('a restarted engine keeps the rate window: the next request waits the rest of it', async () => {
    const first = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 } });
    (await first.engine.beginRequest(T, 'r1')).complete({ status: 'success' });
    first.engine.dispose();
    const clock = first.clock.restarted(10_000);
    const second = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 } }, { persistence: first.persistence.reopen(), clock });
    expect((await rejection(second.engine.beginRequest(T, 'r2', { maxWaitMs: 0 }))).details).toEqual({ retry_after_ms: spread(50_000) });
    const next = track(second.engine.beginRequest(T, 'r3'));
    await clock.advance(49_999);
    expect(next.done).toBe(false);
    await clock.advance(1);
    expect(next.value?.admission.rateLimitDelayMs).toBe(50_000);
  });

  it('a restarted engine stays paused', async () => {
    const first = await setup();
    first.engine.pause('captcha');
    await first.engine.flush();
    const second = await setup({}, { persistence: first.persistence.reopen(), clock: first.clock.restarted(1) });
    expect(second.engine.getSnapshot().paused).toMatchObject({ paused: true, reason: 'captcha' });
    expect((await rejection(second.engine.beginRequest(T, 'r', NOW_OR_NEVER))).code).toBe('paused');
  });

  it('reports leases in flight at the restart as interrupted, counted as a dispatch but not a failure', async () => {
    const first = await setup();
    const lease = await first.engine.beginRequest(T, 'r1');
    first.engine.dispose();
    const second = await setup({}, { persistence: first.persistence.reopen(), clock: first.clock.restarted(5_000) });
    expect(second.interrupted).toEqual([{ requestId: 'r1', target: T, container: 'firefox-default', admittedAt: lease.admission.admittedAt }]);
    expect(targetOf(second.engine)).toMatchObject({ interrupted: 1, inFlight: 0, consecutiveFailures: 0 });
    expect(second.engine.getSnapshot().accounts[0]?.recentDispatchCount).toBe(1);
    await second.engine.flush();
    expect([...second.persistence.rows.targets.values()].map((t) => (t as { inFlight: unknown[] }).inFlight)).toEqual([[]]);
  });

  it('counts an interrupted lease as a failure when configured, and as a dispatch even if the window row was lost', async () => {
    const first = await setup();
    await first.engine.beginRequest(T, 'r1');
    first.engine.dispose();
    first.persistence.rows.accounts.clear();
    const second = await setup({ persistence: { interruptedCountsAsFailure: true } }, { persistence: first.persistence.reopen(), clock: first.clock.restarted(5_000) });
    expect(targetOf(second.engine)).toMatchObject({ interrupted: 1, consecutiveFailures: 1, lastError: { code: 'interrupted' } });
    expect(second.engine.getSnapshot().accounts[0]?.recentDispatchCount).toBe(1);
  });

  it('restores a corrupt stored state to the defaults with a warning', async () => {
    const persistence = new MemoryPersistence();
    persistence.putRaw('targets', 'claude/agent', { version: 1, clientId: 'agent', platform: 'claude', circuitState: 'exploded' });
    persistence.putRaw('platforms', 'claude', 'nonsense');
    persistence.rows.system.value = 42;
    const { engine, warnings } = await setup({}, { persistence });
    // The target, the hold a version-1 target carries (its own account entry), the window, the switches.
    expect(warnings).toHaveLength(4);
    expect(engine.getSnapshot()).toMatchObject({ targets: [], accounts: [], paused: { paused: false } });
    expect((await engine.beginRequest(T, 'r')).admission.rateLimitDelayMs).toBe(0);
  });

  it('rejects initialize when load fails, and can be initialized again', async () => {
    const persistence = new MemoryPersistence();
    const clock = new FakeClock();
    let failLoad = true;
    const flaky: PolicyPersistence = {
      load: () => (failLoad ? Promise.reject(new Error('no host')) : persistence.load()),
      save: (c) => persistence.save(c),
      admit: (l) => persistence.admit(l),
    };
    const engine = new PolicyEngine({ config: config(), persistence: flaky, clock });
    await expect(engine.initialize()).rejects.toThrow('no host');
    failLoad = false;
    await expect(engine.initialize()).resolves.toEqual({ interrupted: [] });
  });

  it('exportState round-trips into a fresh engine', async () => {
    const { engine, clock } = await setup();
    await trip(engine, clock);
    engine.pause('user');
    const copy = new MemoryPersistence();
    const state = engine.exportState();
    for (const t of state.targets) copy.putRaw('targets', String((t as { clientId: string }).clientId), t);
    for (const a of state.accounts ?? []) copy.putRaw('accounts', String((a as { platform: string }).platform), a);
    copy.rows.system.value = state.system;
    const fresh = await setup({}, { persistence: copy, clock: clock.restarted(0) });
    const strip = (s: ReturnType<PolicyEngine['getSnapshot']>) => ({ ...s, generatedAt: 0 });
    expect(strip(fresh.engine.getSnapshot())).toEqual(strip(engine.getSnapshot()));
  });
});

describe('PolicyEngine: reconcile', () => {
  it('adopts a stricter copy (open circuit, more dispatches, paused) without rewriting what it already says', async () => {
    const { engine, clock, persistence } = await setup({ rateLimit: { requestsPerMinutePerPlatform: 2 } });
    (await engine.beginRequest(T, 'r1')).complete({ status: 'success' });
    await engine.flush();
    const before = persistence.saves.length;
    const now = clock.now();
    const mine = engine.exportState().accounts?.[0] as PersistedAccount;
    engine.reconcile({
      targets: [storedTarget({ lastSuccessAt: now, lastActivityAt: now, lastActivityReason: 'success' })],
      accounts: [{ ...mine, circuitState: 'open', circuitRetryAt: now + 30_000, consecutiveFailures: 3, trips: 1, dispatches: [now - 1_000, now], lastDispatchAt: now, updatedAt: now }],
      system: { version: 2, paused: true, pauseReason: 'from host', pausedAt: now, updatedAt: now },
    });
    expect(targetOf(engine)).toMatchObject({ circuitState: 'open', circuitRetryAt: now + 30_000, consecutiveFailures: 3 });
    expect(engine.getSnapshot().accounts[0]?.recentDispatchCount).toBe(2);
    expect(engine.getSnapshot().paused.reason).toBe('from host');
    await engine.flush();
    // the other copy already holds the merged target, window and switches: nothing to write back
    expect(persistence.saves.length).toBe(before);
  });

  it('keeps its own stricter state and marks it to be written to the looser copy', async () => {
    const { engine, clock, persistence } = await setup();
    await trip(engine, clock);
    await engine.flush();
    const before = persistence.saves.length;
    engine.reconcile({ targets: [storedTarget()], accounts: [], system: null });
    expect(targetOf(engine).circuitState).toBe('open');
    await engine.flush();
    const written = persistence.saves.slice(before);
    expect(written.flatMap((s) => s.accounts.map((a) => a.circuitState))).toEqual(['open']);
    expect(written.some((s) => s.targets.length === 1 && s.system !== null)).toBe(true);
  });
});

describe('PolicyEngine: dispose', () => {
  it('rejects waiters with cancelled, stops its timers and refuses new work', async () => {
    const { engine, clock } = await setup();
    await engine.beginRequest(T, 'r1');
    const waiting = track(engine.beginRequest(T, 'r2'));
    await engine.flush();
    await clock.advance(100);
    engine.dispose();
    await clock.advance(0);
    expect(waiting.error?.code).toBe('cancelled');
    expect(clock.pendingTimers).toBe(0);
    expect((await rejection(engine.beginRequest(T, 'r3', NOW_OR_NEVER))).code).toBe('cancelled');
  });
});

describe('reconfigure (a new config applied live)', () => {
  const parsed = (over: Sections) => PolicyConfigSchema.parse(config(over));

  it('a stricter rate limit applies at once to the next admission; the dispatches already in the window count', async () => {
    const { engine, clock } = await setup({ rateLimit: { requestsPerMinutePerPlatform: 10 } });
    (await admit(engine, clock, 'r1')).complete({ status: 'success' });
    await clock.advance(1_000);
    (await admit(engine, clock, 'r2')).complete({ status: 'success' });
    engine.reconfigure(parsed({ rateLimit: { requestsPerMinutePerPlatform: 2 } }));
    expect(engine.getSnapshot().accounts[0]).toMatchObject({ limit: 2, recentDispatchCount: 2 });
    const err = await rejection(engine.beginRequest(T, 'r3', { maxWaitMs: 0 }));
    expect(err.code).toBe('rate_limited');
    // The oldest dispatch (at t0) leaves the 60 s window 59 s from now.
    expect(err.details?.['retry_after_ms']).toBe(spread(59_000));
  });

  it('a looser rate limit frees a caller sleeping on the window', async () => {
    const { engine, clock } = await setup({ rateLimit: { requestsPerMinutePerPlatform: 1 } });
    (await admit(engine, clock, 'r1')).complete({ status: 'success' });
    const waiting = track(engine.beginRequest(T, 'r2'));
    await clock.advance(1_000);
    expect(waiting.done).toBe(false);
    engine.reconfigure(parsed({ rateLimit: { requestsPerMinutePerPlatform: 5 } }));
    await clock.advance(0);
    expect(waiting.done).toBe(true);
    expect(waiting.value?.admission.rateLimitDelayMs).toBe(1_000);
  });

  it('a looser concurrency frees a queued waiter; a stricter one holds the next caller', async () => {
    const { engine, clock } = await setup();
    const first = await admit(engine, clock, 'r1');
    const queued = track(engine.beginRequest(T, 'r2'));
    await clock.advance(100);
    expect(queued.done).toBe(false);
    engine.reconfigure(parsed({ concurrency: { maxInFlightPerTarget: 2 } }));
    await clock.advance(0);
    expect(queued.done).toBe(true);
    engine.reconfigure(parsed({ concurrency: { maxInFlightPerTarget: 1 } }));
    first.complete({ status: 'success' });
    const held = track(engine.beginRequest(T, 'r3'));
    await clock.advance(100);
    expect(held.done).toBe(false);
    queued.value?.complete({ status: 'success' });
    await clock.advance(0);
    expect(held.done).toBe(true);
  });

  it('keeps backoffUntil and circuitRetryAt as they are; the new breaker settings apply to what follows', async () => {
    const { engine, clock } = await setup({ circuitBreaker: { failureThreshold: 2 } });
    (await admit(engine, clock, 'r1')).complete(FAIL);
    await clock.advance(20_000);
    (await admit(engine, clock, 'r2')).complete(FAIL);
    const before = engine.getSnapshot().accounts[0] as AccountSnapshot;
    expect(before.circuitState).toBe('open');
    engine.reconfigure(parsed({ circuitBreaker: { failureThreshold: 5, openMs: 1_000, maxOpenMs: 2_000 }, backoff: { baseMs: 100, maxMs: 1_000 } }));
    const after = engine.getSnapshot().accounts[0] as AccountSnapshot;
    expect({ backoffUntil: after.backoffUntil, circuitRetryAt: after.circuitRetryAt, circuitState: after.circuitState }).toEqual({
      backoffUntil: before.backoffUntil,
      circuitRetryAt: before.circuitRetryAt,
      circuitState: 'open',
    });
    expect(engine.getSnapshot().defaults.circuitBreaker.failureThreshold).toBe(5);
  });

  it('turns jitter on for the next admission and refuses an invalid config with the field path', async () => {
    const { engine, clock } = await setup();
    engine.reconfigure(parsed({ jitter: { muMs: 1_000, sigmaMs: 0, minMs: 500, maxMs: 2_000 } }));
    const lease = await admit(engine, clock, 'r1');
    expect(lease.admission.jitterDelayMs).toBeGreaterThanOrEqual(500);
    const bad = { ...engine.config, rateLimit: { ...engine.config.rateLimit, requestsPerMinutePerPlatform: 0 } };
    const err = (() => {
      try {
        engine.reconfigure(bad);
      } catch (e) {
        return e as ConductorError;
      }
      return null;
    })();
    expect(err?.code).toBe('bad_payload');
    expect(err?.message).toContain('rateLimit.requestsPerMinutePerPlatform');
    expect(engine.config.rateLimit.requestsPerMinutePerPlatform).toBe(600);
  });
});
