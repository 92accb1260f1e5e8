import { describe, expect, it } from 'vitest';
import { laterOf, mergePlatform, mergeSystem, mergeTarget } from './reconcile.js';
import { storedPlatform, storedTarget } from './test-persistence.js';

const NOW = 1_700_000_000_000;

describe('mergeTarget', () => {
  it('lets the stricter value win field by field', () => {
    const a = storedTarget({
      circuitState: 'open',
      circuitRetryAt: NOW + 10_000,
      consecutiveFailures: 3,
      trips: 1,
      backoffUntil: NOW + 1_000,
      lastError: { code: 'upstream_5xx', message: 'HTTP 502', at: NOW - 10 },
      lastSuccessAt: NOW - 500,
      staleSweepCount: 1,
      lastStaleSweepAt: NOW - 900,
      lastStaleSweepRequestId: 'old',
      inFlight: [{ requestId: 'r1', admittedAt: NOW - 5, lastActivityAt: NOW - 5, probe: false }],
    });
    const b = storedTarget({
      circuitState: 'closed',
      consecutiveFailures: 1,
      trips: 2,
      backoffUntil: NOW + 5_000,
      lastError: { code: 'upstream_429', message: 'HTTP 429', at: NOW - 1 },
      lastSuccessAt: NOW - 100,
      lastActivityAt: NOW - 1,
      lastActivityReason: 'chunk',
      staleSweepCount: 0,
      lastStaleSweepAt: NOW - 50,
      lastStaleSweepRequestId: 'new',
      inFlight: [
        { requestId: 'r1', admittedAt: NOW - 5, lastActivityAt: NOW - 5, probe: false },
        { requestId: 'r2', admittedAt: NOW - 2, lastActivityAt: NOW - 2, probe: false },
      ],
    });
    const m = mergeTarget(a, b);
    expect(m).toMatchObject({
      circuitState: 'open',
      circuitRetryAt: NOW + 10_000,
      consecutiveFailures: 3,
      trips: 2,
      backoffUntil: NOW + 5_000,
      lastError: { code: 'upstream_429' },
      lastSuccessAt: NOW - 100,
      lastActivityReason: 'chunk',
      staleSweepCount: 1,
      lastStaleSweepRequestId: 'new',
    });
    expect(m.inFlight.map((l) => l.requestId)).toEqual(['r1', 'r2']);
    expect(mergeTarget(b, a)).toEqual({ ...m, inFlight: mergeTarget(b, a).inFlight });
  });

  it('takes the later retry time when both are open', () => {
    const a = storedTarget({ circuitState: 'open', circuitRetryAt: NOW + 1 });
    const b = storedTarget({ circuitState: 'half_open', circuitRetryAt: NOW + 9 });
    expect(mergeTarget(a, b)).toMatchObject({ circuitState: 'open', circuitRetryAt: NOW + 9 });
  });
});

describe('mergePlatform', () => {
  it('unions the windows as multisets: shared dispatches once, distinct ones all', () => {
    const a = storedPlatform({ dispatches: [1, 5, 5, 9], lastDispatchAt: 9 });
    const b = storedPlatform({ dispatches: [2, 5, 9, 12], lastDispatchAt: 12 });
    expect(mergePlatform(a, b)).toMatchObject({ dispatches: [1, 2, 5, 5, 9, 12], lastDispatchAt: 12 });
  });
});

describe('mergeSystem', () => {
  it('lets paused win, keeping its reason', () => {
    const running = { version: 1 as const, paused: false, pauseReason: null, pausedAt: null, updatedAt: 10 };
    const paused = { version: 1 as const, paused: true, pauseReason: 'captcha', pausedAt: 5, updatedAt: 5 };
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
