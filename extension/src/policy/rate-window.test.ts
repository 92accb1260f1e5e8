import { describe, expect, it } from 'vitest';
import { PolicyConfigSchema } from '../../../shared/policy-config.js';
import { RateWindow, rateLimitFor } from './rate-window.js';

const limit = (requestsPerMinutePerPlatform: number, minSpacingMs = 0, windowMs = 1000) => ({ requestsPerMinutePerPlatform, windowMs, minSpacingMs });

describe('RateWindow', () => {
  it('frees a slot when the oldest dispatch leaves the window', () => {
    const w = new RateWindow(limit(2));
    expect(w.nextSlotAt(0)).toBeNull();
    w.record(0);
    w.record(100);
    expect(w.count(200)).toBe(2);
    expect(w.nextSlotAt(200)).toBe(1000);
    expect(w.nextSlotAt(999)).toBe(1000);
    expect(w.nextSlotAt(1000)).toBeNull();
    expect(w.count(1000)).toBe(1);
    expect(w.dispatches(1000)).toEqual([100]);
  });

  it('counts several expirations when over the limit (e.g. after a merge)', () => {
    const w = new RateWindow(limit(2));
    for (const t of [10, 20, 30, 40]) w.record(t);
    // 4 in the window, limit 2: three must leave, the third oldest at 30.
    expect(w.nextSlotAt(50)).toBe(1030);
  });

  it('enforces the minimum spacing after the latest dispatch', () => {
    const w = new RateWindow(limit(10, 3000));
    w.record(500);
    expect(w.nextSlotAt(600)).toBe(3500);
    expect(w.nextSlotAt(3500)).toBeNull();
  });

  it('keeps out-of-order records sorted and knows what it holds', () => {
    const w = new RateWindow(limit(5));
    w.record(300);
    w.record(100);
    w.record(200);
    expect(w.dispatches(300)).toEqual([100, 200, 300]);
    expect(w.lastDispatchAt).toBe(300);
    expect(w.has(200)).toBe(true);
    expect(w.has(250)).toBe(false);
  });

  it('stays correct across compaction of a long history', () => {
    const w = new RateWindow(limit(600, 0, 1000));
    for (let t = 0; t < 5000; t += 5) {
      expect(w.nextSlotAt(t)).toBeNull();
      w.record(t);
    }
    expect(w.count(5000)).toBe(199);
    expect(w.dispatches(5000)[0]).toBe(4005);
  });

  it('replaces its history with a merged copy', () => {
    const w = new RateWindow(limit(2));
    w.record(1);
    w.replace([10, 20], 20);
    expect(w.dispatches(30)).toEqual([10, 20]);
    expect(w.nextSlotAt(30)).toBe(1010);
  });
});

describe('rateLimitFor', () => {
  it('applies a platform override on top of the global limit', () => {
    const cfg = PolicyConfigSchema.parse({ platformRateLimits: { gemini: { requestsPerMinutePerPlatform: 2 } } });
    expect(rateLimitFor(cfg, 'gemini')).toEqual({ requestsPerMinutePerPlatform: 2, windowMs: 60_000, minSpacingMs: 3_000 });
    expect(rateLimitFor(cfg, 'claude')).toBe(cfg.rateLimit);
  });
});
