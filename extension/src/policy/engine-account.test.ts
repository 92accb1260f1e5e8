import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import type { Target } from '../../../shared/platforms.js';
import type { PolicyConfigInput } from '../../../shared/policy-config.js';
import { PolicyEngine } from './engine.js';
import { FakeClock, track } from './test-clock.js';
import { MemoryPersistence } from './test-persistence.js';
import type { Lease, LeaseOutcome } from './types.js';

const A: Target = { clientId: 'agent-a', platform: 'claude' };
const B: Target = { clientId: 'agent-b', platform: 'claude' };
const C: Target = { clientId: 'agent-c', platform: 'claude' };
const THROTTLE: LeaseOutcome = { status: 'failure', code: 'upstream_429', httpStatus: 429, retryAfterMs: 30_000 };

/** No jitter, a roomy window: what each test proves comes from the account's holds and pace. */
const BASE: PolicyConfigInput = {
  rateLimit: { requestsPerMinutePerPlatform: 600, windowMs: 60_000, minSpacingMs: 0 },
  jitter: { muMs: 0, sigmaMs: 0, minMs: 0, maxMs: 0 },
  backoff: { strategy: 'full', baseMs: 1_000, maxMs: 10_000, maxRetryAfterMs: 3_600_000 },
  circuitBreaker: { failureThreshold: 3, openMs: 60_000, maxOpenMs: 600_000 },
};

async function setup(config: PolicyConfigInput = BASE, persistence = new MemoryPersistence(), clock = new FakeClock()) {
  const engine = new PolicyEngine({ config, persistence, clock });
  await engine.initialize();
  return { engine, clock, persistence };
}

const account = (engine: PolicyEngine, container = 'firefox-default') => engine.getSnapshot().accounts.find((a) => a.container === container);

describe('PolicyEngine: the account is the unit of safety', () => {
  it('holds a second client id of the account by the first one’s 429; another container is its own account', async () => {
    const { engine, clock } = await setup();
    (await engine.beginRequest(A, 'a1')).complete(THROTTLE);
    const b = track(engine.beginRequest(B, 'b1'));
    const other = await engine.beginRequest(C, 'c1', { container: 'firefox-container-2' });
    expect(other.admission.backoffDelayMs).toBe(0);
    await clock.advance(29_999);
    expect(b.done).toBe(false);
    await clock.advance(1);
    expect(b.value?.admission.backoffDelayMs).toBe(30_000);
    expect(account(engine)).toMatchObject({ clients: ['agent-a', 'agent-b'], pace: { lastCutReason: 'upstream_429' } });
  });

  it('cannot be escaped by switching client id: a refusal names the account’s hold, not the caller’s', async () => {
    const { engine } = await setup();
    (await engine.beginRequest(A, 'a1')).complete({ ...THROTTLE, code: 'usage_cap', retryAfterMs: 3_600_000 });
    const err = await engine.beginRequest(C, 'c1', { maxWaitMs: 1_000 }).then(
      () => { throw new Error("expected a refusal"); },
      (e: unknown) => e as ConductorError,
    );
    expect(err).toMatchObject({ code: 'backoff_active' });
    expect(err.details?.['retry_after_ms']).toBeGreaterThanOrEqual(3_600_000);
  });

  it('serves its targets fairly in arrival order, one dispatch per pace step', async () => {
    const { engine, clock } = await setup();
    // Learn a pace: the 429 holds the account 30 s, and the pace spaces what follows.
    (await engine.beginRequest(A, 'a0')).complete(THROTTLE);
    const order: string[] = [];
    const follow = (t: Target, id: string) =>
      track(
        engine.beginRequest(t, id).then((lease) => {
          order.push(id);
          lease.complete({ status: 'success' });
          return lease;
        }),
      );
    const calls = [follow(A, 'a1'), follow(B, 'b1'), follow(A, 'a2'), follow(C, 'c1'), follow(B, 'b2')];
    for (let i = 0; i < 200 && calls.some((c) => !c.done); i++) await clock.advance(1_000);
    expect(order).toEqual(['a1', 'b1', 'a2', 'c1', 'b2']);
    const times = calls.map((c) => c.value?.admission.admittedAt as number);
    const gap = account(engine)?.pace.intervalMs as number;
    expect(gap).toBeGreaterThan(0);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(gap);
  });

  it('gives waiter_timeout only when the caller’s own deadline passes; the default deadline is long', async () => {
    const { engine, clock } = await setup();
    (await engine.beginRequest(A, 'a1')).complete({ ...THROTTLE, retryAfterMs: 600_000 });
    const patient = track(engine.beginRequest(B, 'b1'));
    const hurried = track(engine.beginRequest(C, 'c1', { maxWaitMs: 700_000 }));
    await clock.advance(600_000);
    expect(patient.value?.admission.backoffDelayMs).toBe(600_000);
    // C waits behind B in the account's line, then the pace: still within its deadline or refused with it.
    for (let i = 0; i < 200 && !hurried.done; i++) await clock.advance(1_000);
    if (hurried.error !== undefined) expect(['waiter_timeout', 'rate_limited']).toContain(hurried.error.code);
    expect(engine.config.concurrency.waiterTimeoutMs).toBeGreaterThanOrEqual(3_600_000);
  });

  it('de-synchronises the retry hints it hands out: callers refused at once come back apart, never early', async () => {
    const clock = new FakeClock();
    const { engine } = await setup(BASE, new MemoryPersistence(), clock);
    for (let i = 0; i < 3; i++) {
      const lease = track(engine.beginRequest(A, `f${i}`));
      for (let j = 0; j < 100 && !lease.done; j++) await clock.advance(100);
      lease.value?.complete({ status: 'failure', code: 'upstream_5xx' });
    }
    await clock.advance(10_000);
    const hints: number[] = [];
    for (const [i, r] of [0.05, 0.5, 0.95].entries()) {
      clock.queueRandom(r);
      const err = await engine.beginRequest(B, `b${i}`, { maxWaitMs: 0 }).then(
      () => { throw new Error("expected a refusal"); },
      (e: unknown) => e as ConductorError,
    );
      expect(err.code).toBe('circuit_open');
      hints.push(err.details?.['retry_after_ms'] as number);
    }
    const open = (account(engine)?.circuitRetryAt as number) - clock.now();
    expect(new Set(hints).size).toBe(3);
    for (const h of hints) {
      expect(h).toBeGreaterThanOrEqual(open);
      expect(h).toBeLessThanOrEqual(open + Math.max(1_000, open * 0.1));
    }
  });

  it('keeps a patient caller in line through an open circuit: at the retry time it becomes the probe, the next waits on it', async () => {
    const { engine, clock } = await setup();
    for (let i = 0; i < 3; i++) {
      const lease = track(engine.beginRequest(A, `f${i}`));
      for (let j = 0; j < 100 && !lease.done; j++) await clock.advance(100);
      lease.value?.complete({ status: 'failure', code: 'upstream_5xx' });
    }
    const retryAt = account(engine)?.circuitRetryAt as number;
    const first = track(engine.beginRequest(B, 'b1'));
    const second = track(engine.beginRequest(C, 'c1'));
    await clock.advance(retryAt - clock.now() - 1);
    expect(first.done || second.done).toBe(false);
    await clock.advance(1);
    expect(first.value?.admission.probe).toBe(true);
    expect(second.done).toBe(false);
    first.value?.complete({ status: 'success' });
    await clock.advance(0);
    expect(second.value?.admission.probe).toBe(false);
  });

  it('hints a busy half-open probe’s expected duration from recent answers, not the stale-lease bound', async () => {
    const { engine, clock } = await setup();
    for (let i = 0; i < 3; i++) {
      const lease = await engine.beginRequest(A, `slow${i}`);
      await clock.advance(20_000);
      lease.complete({ status: 'failure', code: 'upstream_5xx' });
      await clock.advance(10_000);
    }
    await clock.advance(60_000);
    const probe = await engine.beginRequest(A, 'probe');
    expect(probe.admission.probe).toBe(true);
    await clock.advance(5_000);
    clock.queueRandom(0);
    const err = await engine.beginRequest(B, 'b', { maxWaitMs: 1_000 }).then(
      () => { throw new Error("expected a refusal"); },
      (e: unknown) => e as ConductorError,
    );
    expect(err.code).toBe('circuit_half_open_busy');
    // Leases took 20 s; the probe has run 5 s: about 15 s to go.
    expect(err.details?.['retry_after_ms']).toBe(15_000);
  });

  it('keeps the learned pace and the account hold across a restart', async () => {
    const first = await setup();
    (await first.engine.beginRequest(A, 'a1')).complete(THROTTLE);
    await first.engine.flush();
    const before = account(first.engine);
    first.engine.dispose();
    const clock = first.clock.restarted(5_000);
    const second = await setup(BASE, first.persistence.reopen(), clock);
    expect(account(second.engine)?.pace).toEqual(before?.pace);
    expect(account(second.engine)?.backoffUntil).toBe(before?.backoffUntil);
    const err = await second.engine.beginRequest(B, 'b1', { maxWaitMs: 0 }).then(
      () => { throw new Error("expected a refusal"); },
      (e: unknown) => e as ConductorError,
    );
    expect(err.code).toBe('backoff_active');
  });
});

/** One scripted caller step: which target asks, and how its lease (if granted) ends. */
const stepArb = fc.record({
  target: fc.constantFrom(A, B, C),
  answer: fc.constantFrom<LeaseOutcome['status'] | '429' | 'cap' | '5xx'>('success', 'success', 'success', '429', 'cap', '5xx', 'cancelled'),
  holdMs: fc.integer({ min: 0, max: 90_000 }),
  retryAfterMs: fc.option(fc.integer({ min: 1_000, max: 120_000 }), { nil: undefined }),
  gapMs: fc.integer({ min: 0, max: 30_000 }),
});

function outcomeOf(answer: string, retryAfterMs: number | undefined): LeaseOutcome {
  if (answer === '429') return { status: 'failure', code: 'upstream_429', ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (answer === 'cap') return { status: 'failure', code: 'usage_cap', ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (answer === '5xx') return { status: 'failure', code: 'upstream_5xx' };
  return { status: answer as LeaseOutcome['status'] };
}

describe('PolicyEngine properties (fast-check)', () => {
  it('no sequence of answers lets two requests of one target be in flight, or the account dispatch faster than its learned pace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const { engine, clock } = await setup();
        const inFlight = new Map<string, number>();
        const dispatches: number[] = [];
        let violation: string | null = null;
        const run = (step: (typeof steps)[number], i: number) =>
          engine.beginRequest(step.target, `r${i}`, { maxWaitMs: 24 * 3_600_000 }).then(
            (lease: Lease) => {
              const key = step.target.clientId;
              const n = (inFlight.get(key) ?? 0) + 1;
              inFlight.set(key, n);
              if (n > 1) violation = `two in flight on ${key}`;
              const now = clock.now();
              // The pace the account had learned when this dispatch went out.
              const snap = engine.getSnapshot().accounts[0];
              const gap = snap?.pace.intervalMs ?? null;
              const last = dispatches.at(-1);
              if (gap !== null && last !== undefined && now - last < gap) violation = `dispatched ${now - last} ms after the last, pace ${gap} ms`;
              dispatches.push(now);
              clock.setTimeout(() => {
                inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
                lease.complete(outcomeOf(step.answer, step.retryAfterMs));
              }, step.holdMs);
            },
            () => undefined,
          );
        const all: Promise<void>[] = [];
        for (const [i, step] of steps.entries()) {
          all.push(run(step, i));
          await clock.advance(step.gapMs);
        }
        for (let i = 0; i < 2_000 && inFlight.size + engine.getSnapshot().accounts.reduce((n, a) => n + a.waiting, 0) > 0; i++) {
          await clock.advance(60_000);
          if ([...inFlight.values()].every((n) => n === 0) && (engine.getSnapshot().accounts[0]?.waiting ?? 0) === 0) break;
        }
        engine.dispose();
        await Promise.all(all);
        expect(violation).toBeNull();
      }),
      { numRuns: 60 },
    );
  });
});
