import { describe, expect, it } from 'vitest';
import { freshPace } from '../../../shared/policy-state.js';
import { laterOf, mergeAccount, mergeSystem, mergeTarget } from './reconcile.js';
import { storedAccount, storedTarget } from './test-persistence.js';

const NOW = 1_700_000_000_000;
const lease = (requestId: string, at: number) => ({ requestId, container: 'firefox-default', admittedAt: at, lastActivityAt: at, probe: false });

describe('mergeTarget', () => {
  it('takes the newer of each record and the union of in-flight leases', () => {
    const a = storedTarget({
      lastError: { code: 'upstream_5xx', message: 'HTTP 502', at: NOW - 10 },
      lastSuccessAt: NOW - 500,
      staleSweepCount: 1,
      lastStaleSweepAt: NOW - 900,
      lastStaleSweepRequestId: 'old',
      inFlight: [lease('r1', NOW - 5)],
    });
    const b = storedTarget({
      lastError: { code: 'upstream_429', message: 'HTTP 429', at: NOW - 1 },
      lastSuccessAt: NOW - 100,
      lastActivityAt: NOW - 1,
      lastActivityReason: 'chunk',
      staleSweepCount: 0,
      lastStaleSweepAt: NOW - 50,
      lastStaleSweepRequestId: 'new',
      inFlight: [lease('r1', NOW - 5), lease('r2', NOW - 2)],
    });
    const m = mergeTarget(a, b);
    expect(m).toMatchObject({ lastError: { code: 'upstream_429' }, lastSuccessAt: NOW - 100, lastActivityReason: 'chunk', staleSweepCount: 1, lastStaleSweepRequestId: 'new' });
    expect(m.inFlight.map((l) => l.requestId)).toEqual(['r1', 'r2']);
    expect(mergeTarget(b, a)).toEqual({ ...m, inFlight: mergeTarget(b, a).inFlight });
  });
});

describe('mergeAccount', () => {
  it('lets the stricter value win field by field, and the slower learned pace', () => {
    const a = storedAccount({
      circuitState: 'open',
      circuitRetryAt: NOW + 10_000,
      consecutiveFailures: 3,
      trips: 1,
      backoffUntil: NOW + 1_000,
      dispatches: [1, 5, 5, 9],
      lastDispatchAt: 9,
      lastError: { code: 'upstream_5xx', message: 'HTTP 502', at: NOW - 10 },
      pace: { ...freshPace(), intervalMs: 64_000, lastCutAt: NOW - 60_000, lastCutReason: 'upstream_429' },
    });
    const b = storedAccount({
      circuitState: 'closed',
      consecutiveFailures: 1,
      trips: 2,
      backoffUntil: NOW + 5_000,
      dispatches: [2, 5, 9, 12],
      lastDispatchAt: 12,
      lastError: { code: 'upstream_429', message: 'HTTP 429', at: NOW - 1 },
      pace: { ...freshPace(), intervalMs: 30_000, lastCutAt: NOW, lastCutReason: 'upstream_429' },
    });
    const m = mergeAccount(a, b);
    expect(m).toMatchObject({
      circuitState: 'open',
      circuitRetryAt: NOW + 10_000,
      consecutiveFailures: 3,
      trips: 2,
      backoffUntil: NOW + 5_000,
      dispatches: [1, 2, 5, 5, 9, 12],
      lastDispatchAt: 12,
      lastError: { code: 'upstream_429' },
      pace: { intervalMs: 64_000 },
    });
    expect(mergeAccount(b, a)).toEqual(m);
    // A learned pace beats none.
    expect(mergeAccount(storedAccount(), b).pace.intervalMs).toBe(30_000);
  });

  it('takes the later retry time when both are open', () => {
    const a = storedAccount({ circuitState: 'open', circuitRetryAt: NOW + 1 });
    const b = storedAccount({ circuitState: 'half_open', circuitRetryAt: NOW + 9 });
    expect(mergeAccount(a, b)).toMatchObject({ circuitState: 'open', circuitRetryAt: NOW + 9 });
  });
});

describe('mergeSystem', () => {
  it('lets paused win, keeping its reason', () => {
    const running = { version: 2 as const, paused: false, pauseReason: null, pausedAt: null, updatedAt: 10 };
    const paused = { version: 2 as const, paused: true, pauseReason: 'captcha', pausedAt: 5, updatedAt: 5 };
    expect(mergeSystem(running, paused)).toEqual({ ...paused, updatedAt: 10 });
    expect(mergeSystem(paused, running)).toEqual({ ...paused, updatedAt: 10 });
    expect(mergeSystem(null, running)).toBe(running);
    expect(mergeSystem(running, null)).toBe(running);
  });
});

describe('laterOf', () => {
  it('prefers any time to none and the later of two', () => {
    expect(laterOf(null, null)).toBeNull();
    expect(laterOf(3, null)).toBe(3);
    expect(laterOf(null, 4)).toBe(4);
    expect(laterOf(3, 4)).toBe(4);
  });
});
