import { describe, expect, it } from 'vitest';
import { activityMono, findStale, StaleSweeper } from './stale-sweep.js';
import { FakeClock } from './test-clock.js';

describe('findStale', () => {
  it('returns the open leases idle at least the timeout, with their idle time', () => {
    const leases = [
      { id: 'a', done: false, lastActivityAt: 0, lastActivityMono: 0 },
      { id: 'b', done: false, lastActivityAt: 0, lastActivityMono: 500 },
      { id: 'c', done: true, lastActivityAt: 0, lastActivityMono: 0 },
    ];
    expect(findStale(leases, 1000, 0, 0, 1000).map((s) => [s.lease.id, s.idleMs])).toEqual([['a', 1000]]);
    expect(findStale(leases, 1500, 0, 0, 1000).map((s) => s.lease.id)).toEqual(['a', 'b']);
  });

  it('stamps wall-only activity with its monotonic time on the way', () => {
    const lease = { done: false, lastActivityAt: 10_000, lastActivityMono: null };
    expect(findStale([lease], 500, 10_300, 0, 1000)).toEqual([]);
    expect(lease.lastActivityMono).toBe(200);
  });
});

describe('activityMono', () => {
  it('derives the monotonic time from the wall age while the clocks agree', () => {
    expect(activityMono({ done: false, lastActivityAt: 9_000, lastActivityMono: null }, 5_000, 10_000, 0)).toBe(4_000);
  });

  it('bounds the age by the interval since the previous sweep when the wall clock jumped', () => {
    // wall jumped an hour forward: the activity still happened after the last sweep at mono 4 000
    expect(activityMono({ done: false, lastActivityAt: 0, lastActivityMono: null }, 5_000, 3_600_000, 4_000)).toBe(4_000);
    // wall jumped back: age 0, never negative
    expect(activityMono({ done: false, lastActivityAt: 9_000, lastActivityMono: null }, 5_000, 1_000, 4_000)).toBe(5_000);
  });

  it('keeps a stamp once made', () => {
    expect(activityMono({ done: false, lastActivityAt: 0, lastActivityMono: 123 }, 5_000, 10_000, 0)).toBe(123);
  });
});

describe('StaleSweeper', () => {
  it('sweeps every interval until stopped', async () => {
    const clock = new FakeClock();
    let sweeps = 0;
    const sweeper = new StaleSweeper(clock, 1000, () => sweeps++);
    sweeper.start();
    sweeper.start();
    await clock.advance(3500);
    expect(sweeps).toBe(3);
    sweeper.stop();
    await clock.advance(5000);
    expect(sweeps).toBe(3);
    expect(clock.pendingTimers).toBe(0);
  });
});
