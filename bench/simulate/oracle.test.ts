import { describe, expect, it } from 'vitest';
import { feasibleCount } from './oracle.js';
import type { Job } from './workload.js';
import { serverSpec } from './test-fixtures.js';

const MIN = 60_000;

const jobs = (n: number, target = (_i: number) => 0, arrivalMs = (_i: number) => 0, replyMs = 10_000): Job[] =>
  Array.from({ length: n }, (_, id) => ({ id, arrivalMs: arrivalMs(id), target: target(id), replyMs }));

describe('feasibleCount (the oracle)', () => {
  // Capacity 2, 1 a minute, one conversation, replies of 10 s, five jobs at 0. By hand: sends at
  // 0 and 10 s (the second token, the conversation free again), then the bucket holds 1/6 of a
  // token, so 60 s, 120 s, 180 s. Served by 10, 20, 70, 130 and 190 s.
  it('matches a hand-computed schedule, the horizon cutting what cannot finish', () => {
    expect(feasibleCount(serverSpec(), jobs(5), 200_000)).toBe(5);
    expect(feasibleCount(serverSpec(), jobs(5), 189_999)).toBe(4);
    expect(feasibleCount(serverSpec(), jobs(5), 130_000)).toBe(4);
    expect(feasibleCount(serverSpec(), jobs(5), 129_999)).toBe(3);
  });

  it('lets two conversations use the burst at once', () => {
    // Sends at 0, 0 (both conversations), then 60 s, 120 s: served by 10, 10, 70, 130 s.
    expect(feasibleCount(serverSpec(), jobs(4, (i) => i % 2), 130_000)).toBe(4);
    expect(feasibleCount(serverSpec(), jobs(4, (i) => i % 2), 129_999)).toBe(3);
  });

  it('sends nothing during an outage and respects maxRequestsPer60s', () => {
    const outage = serverSpec({ bucket: { capacity: 10, refill: 1, periodMs: MIN }, outages: [{ fromMs: 0, toMs: 100_000, status: 503 }] });
    // All three go at 100 s (the bucket is full), served by 110 s.
    expect(feasibleCount(outage, jobs(3, (i) => i), 110_000)).toBe(3);
    expect(feasibleCount(outage, jobs(3, (i) => i), 109_999)).toBe(0);
    const perMinute = serverSpec({ bucket: { capacity: 10, refill: 1, periodMs: MIN }, flag: { max429InWindow: 3, windowMs: MIN, maxRequestsPer60s: 2 } });
    // Two at 0, the third at 60 s.
    expect(feasibleCount(perMinute, jobs(3, (i) => i), 69_999)).toBe(2);
    expect(feasibleCount(perMinute, jobs(3, (i) => i), 70_000)).toBe(3);
  });

  it('follows a quota change and waits for arrivals', () => {
    // 10 a minute until 60 s, then 1 a minute with capacity 1: jobs arrive at 0, 30 s, 90 s, 91 s.
    const s = serverSpec({ bucket: { capacity: 1, refill: 10, periodMs: MIN }, quotaChanges: [{ atMs: 60_000, capacity: 1, refill: 1, periodMs: MIN }] });
    const arrivals = [0, 30_000, 90_000, 91_000];
    // Sends at 0, 30 s, 90 s (full again), then 150 s.
    expect(feasibleCount(s, jobs(4, (i) => i, (i) => arrivals[i] as number), 159_999)).toBe(3);
    expect(feasibleCount(s, jobs(4, (i) => i, (i) => arrivals[i] as number), 160_000)).toBe(4);
  });
});
