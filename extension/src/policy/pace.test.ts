import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../../shared/policy-config.js';
import { freshPace, PaceStateSchema, type PaceState } from '../../../shared/policy-state.js';
import { ceilingGapMs, paceDispatched, paceNextAt, paceSucceeded, paceThrottled, provenBurst, type PaceConfig } from './pace.js';

const cfg: PaceConfig = { ...DEFAULT_POLICY_CONFIG.pace, raiseAfterSuccesses: 3, raiseFactor: 0.9, cutFactor: 2, margin: 1.05, floorMs: 600_000, throttleHoldMs: 60_000 };
/** The ceiling of these tests: 6 a minute, i.e. one per 10 s. */
const CEILING = ceilingGapMs({ requestsPerMinutePerPlatform: 6, windowMs: 60_000, minSpacingMs: 3_000 });

/** Dispatches and succeeds `n` times, `gap` ms apart from `t`; returns the time after. */
function succeed(p: PaceState, t: number, n: number, gap: number, backlog = true): number {
  for (let i = 0; i < n; i++) {
    paceSucceeded(p, cfg, CEILING, t, backlog, t);
    t += gap;
  }
  return t;
}

describe('ceilingGapMs', () => {
  it('is the configured window spread evenly, or its spacing if longer', () => {
    expect(CEILING).toBe(10_000);
    expect(ceilingGapMs({ requestsPerMinutePerPlatform: 600, windowMs: 60_000, minSpacingMs: 3_000 })).toBe(3_000);
  });
});

describe('pace', () => {
  it('lets everything through until the platform first throttles (the window alone applies)', () => {
    const p = freshPace();
    expect(paceNextAt(p, 1_000, 1_001)).toBeNull();
    expect(paceSucceeded(p, cfg, CEILING, 0, true, 0)).toBe(false);
    expect(p.intervalMs).toBeNull();
  });

  it('cuts on the first throttle to the streak’s mean gap times cutFactor, and holds at least the Retry-After', () => {
    const p = freshPace();
    const t = succeed(p, 0, 6, 10_000);
    const hold = paceThrottled(p, cfg, CEILING, t, 'upstream_429', 57_000);
    // 6 successes in 60 s: a mean gap of 10 s, doubled.
    expect(p.intervalMs).toBe(20_000);
    expect(hold).toBe(57_000);
    expect(p).toMatchObject({ lastCutAt: t, lastCutReason: 'upstream_429', lastThrottleAt: t, lastThrottleHintMs: 57_000, streakSuccesses: 0, pinnedMs: null });
    expect(paceNextAt(p, t, t + 1)).toBe(t + 20_000);
  });

  it('holds at least throttleHoldMs when the platform names no time (an empty bucket refills slowly)', () => {
    const p = freshPace();
    const t = succeed(p, 0, 6, 10_000);
    expect(paceThrottled(p, cfg, CEILING, t, 'upstream_429', 0)).toBe(60_000);
    expect(p.lastThrottleHintMs).toBeNull();
  });

  it('pins the refill interval from two throttles with exact Retry-After: the token times tell it', () => {
    const p = freshPace();
    // Hidden: a token every 60 s. First throttle at 63 s, next token at 120 s (Retry-After 57 s).
    let t = succeed(p, 3_000, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 63_000, 'upstream_429', 57_000);
    t = succeed(p, 120_000, 1, 21_000);
    // Second throttle at 141 s, next token at 180 s (Retry-After 39 s): one token took (78 + 39 - 57) s.
    const hold = paceThrottled(p, cfg, CEILING, t, 'upstream_429', 39_000);
    expect(p.intervalMs).toBe(63_000);
    expect(p.pinnedMs).toBe(63_000);
    expect(hold).toBe(63_000);
  });

  it('pins T / S from two throttles without Retry-After when enough succeeded between them', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'upstream_429', 0);
    // No work waited, so no raise muddles the measure.
    const t = succeed(p, 120_000, 4, 30_000, false);
    paceThrottled(p, cfg, CEILING, 300_000, 'upstream_429', 0);
    // 4 successes in 240 s since an empty bucket: the refill is at most 240 / 3 s, widened by the margin.
    expect(p.intervalMs).toBe(84_000);
    expect(p.pinnedMs).toBe(84_000);
    expect(t).toBe(240_000);
  });

  it('cuts hard when a throttle follows another with nothing learned between them', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'upstream_429', 0);
    // Not one success in 70 s: the refill is slower than that, so the cut is squared.
    const hold = paceThrottled(p, cfg, CEILING, 130_000, 'upstream_429', 0);
    expect(p.intervalMs).toBe(280_000);
    expect(p.pinnedMs).toBeNull();
    expect(hold).toBe(280_000);
    // One success between them, with no token times: cut by the elapsed time.
    succeed(p, 410_000, 1, 1);
    paceThrottled(p, cfg, CEILING, 500_000, 'upstream_429', 0);
    expect(p.intervalMs).toBe(cfg.floorMs);
  });

  it('a fixed Retry-After (the same at both throttles) is no token time: the refill is bounded by T / (S - 1)', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'upstream_429', 20_000);
    const t = succeed(p, 80_000, 3, 40_000, false);
    paceThrottled(p, cfg, CEILING, t, 'upstream_429', 20_000);
    expect(p.intervalMs).toBe(Math.round(((t - 60_000) / 2) * 1.05));
  });

  it('raises only after raiseAfterSuccesses successes with work waiting, never above the ceiling nor past a pin', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'upstream_429', 0);
    expect(p.intervalMs).toBe(20_000);
    // No backlog: probing would cost 429s for nothing.
    let t = succeed(p, 120_000, 10, 20_000, false);
    expect(p.intervalMs).toBe(20_000);
    t = succeed(p, t, 3, 20_000);
    expect(p.intervalMs).toBe(18_000);
    expect(p.lastGoodMs).toBe(20_000);
    for (let i = 0; i < 20; i++) t = succeed(p, t, 3, 20_000);
    expect(p.intervalMs).toBe(CEILING);
    // Pinned: raising stops there.
    p.pinnedMs = 15_000;
    p.intervalMs = 15_000;
    t = succeed(p, t, 9, 20_000);
    expect(p.intervalMs).toBe(15_000);
  });

  it('a throttle right after a raise returns to the gap that held before it, and pins it', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'upstream_429', 0);
    const t = succeed(p, 120_000, 3, 20_000);
    expect(p.intervalMs).toBe(18_000);
    paceThrottled(p, cfg, CEILING, t, 'upstream_429', 0);
    // The measure (3 successes in 120 s: at most 60 s) is slower than the gap that held: it wins.
    expect(p).toMatchObject({ intervalMs: 63_000, pinnedMs: 63_000, lastGoodMs: null });
    // Without a measure, back to the gap that held.
    const q: PaceState = { ...freshPace(), intervalMs: 18_000, lastGoodMs: 20_000, lastThrottleAt: null };
    paceThrottled(q, cfg, CEILING, 1_000_000, 'upstream_429', 0);
    expect(q).toMatchObject({ intervalMs: 20_000, pinnedMs: 20_000 });
  });

  it('a pin older than relearnAfterMs no longer stops raising', () => {
    const p: PaceState = { ...freshPace(), intervalMs: 20_000, pinnedMs: 20_000, lastThrottleAt: 0 };
    succeed(p, cfg.relearnAfterMs - 100_000, 3, 20_000);
    expect(p.intervalMs).toBe(20_000);
    succeed(p, cfg.relearnAfterMs + 1, 3, 20_000);
    expect(p.intervalMs).toBe(18_000);
  });

  it('never cuts past the floor nor below the ceiling', () => {
    const p = freshPace();
    paceThrottled(p, cfg, CEILING, 0, 'usage_cap', 3_600_000);
    expect(p.intervalMs).toBe(CEILING * 2);
    for (let i = 1; i <= 10; i++) paceThrottled(p, cfg, CEILING, i * 1_000, 'upstream_429', 0);
    expect(p.intervalMs).toBe(cfg.floorMs);
  });

  it('a success after a throttle does not erase what was learned', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'usage_cap', 30_000);
    succeed(p, 90_000, 2, 20_000);
    expect(p).toMatchObject({ intervalMs: 20_000, lastCutReason: 'usage_cap', lastCutAt: 60_000, lastThrottleAt: 60_000, streakSuccesses: 2 });
  });

  it('is plain data that survives a restart as persisted (the schema round-trips it)', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'upstream_429', 57_000);
    const restored = PaceStateSchema.parse(JSON.parse(JSON.stringify(p)));
    expect(restored).toEqual(p);
    expect(paceNextAt(restored, 60_000, 60_001)).toBe(80_000);
  });
});

describe('learned burst', () => {
  it('proves by conservation no more than successes − span / refill − 1 over any span', () => {
    // 10 successes within 9 s, refill at least 40 s: the bucket held at least 10 − 9/40 − 1 → 8.
    const quick = Array.from({ length: 10 }, (_, i) => i * 1_000);
    expect(provenBurst(quick, 40_000)).toBe(8);
    // One success per refill proves nothing beyond one.
    expect(provenBurst([0, 60_000, 120_000, 180_000], 60_000)).toBe(1);
    expect(provenBurst([], 60_000)).toBe(1);
  });

  it('lets a waiting backlog spend the credit accrued while idle, up to the burst, then one per gap', () => {
    const p = freshPace();
    p.intervalMs = 60_000;
    p.burst = 3;
    p.emptyAt = 0;
    const t = 3_600_000; // a long idle: the credit is full (3), not 60.
    for (let i = 0; i < 3; i++) {
      expect(paceNextAt(p, null, t)).toBeNull();
      paceDispatched(p, t, t);
    }
    expect(paceNextAt(p, t, t)).toBe(t + 60_000);
    // Without a learned burst the same idle allows one dispatch only.
    const q = freshPace();
    q.intervalMs = 60_000;
    q.emptyAt = 0;
    paceDispatched(q, null, t);
    expect(paceNextAt(q, t, t)).toBe(t + 60_000);
  });

  it('learns the burst when the second throttle measures the refill, from successes sent before the first', () => {
    const p = freshPace();
    succeed(p, 0, 10, 1_000); // 10 at once after a long idle
    paceThrottled(p, cfg, CEILING, 10_000, 'upstream_429', 50_000);
    expect(p.burst).toBe(1);
    paceSucceeded(p, cfg, CEILING, 75_000, true, 70_000);
    paceThrottled(p, cfg, CEILING, 130_000, 'upstream_429', 55_000);
    // The refill is at least the longer exact hint (55 s): the 10 quick successes prove 10 − 9/55 − 1 → 8.
    expect(p.refillLowMs).toBe(55_000);
    expect(p.burst).toBe(8);
    expect(p.emptyAt).toBe(130_000);
    expect(p.successAt).toEqual([]);
  });

  it('learns no burst when the hints are not exact (a fixed Retry-After): counting successes bounds the refill only from above', () => {
    const p = freshPace();
    succeed(p, 0, 10, 1_000);
    paceThrottled(p, cfg, CEILING, 10_000, 'upstream_429', 20_000);
    succeed(p, 40_000, 3, 20_000);
    paceThrottled(p, cfg, CEILING, 130_000, 'upstream_429', 20_000);
    expect(p.pinnedMs).not.toBeNull();
    expect(p.refillLowMs).toBeNull();
    expect(p.burst).toBe(1);
  });

  it('returns the burst to 1 on a throttle while a burst was allowed (the bucket shrank)', () => {
    const p = freshPace();
    p.intervalMs = 60_000;
    p.pinnedMs = 60_000;
    p.burst = 8;
    p.lastThrottleAt = 0;
    p.lastThrottleHintMs = 50_000;
    p.successAt = Array.from({ length: 10 }, (_, i) => 1_000_000 + i * 1_000);
    for (const at of p.successAt) paceSucceeded(p, cfg, CEILING, at + 1, true, at);
    paceThrottled(p, cfg, CEILING, 1_200_000, 'upstream_429', 40_000);
    expect(p.burst).toBe(1);
  });

  it('counts a token spent unseen between two throttles whose exact hints said it was due', () => {
    const p = freshPace();
    succeed(p, 0, 6, 10_000);
    paceThrottled(p, cfg, CEILING, 60_000, 'usage_cap', 30_000);
    // No success counted, but the token due at 90 s came and went: the refill is (100 + 50 − 30) / 1.
    paceThrottled(p, cfg, CEILING, 160_000, 'usage_cap', 50_000);
    expect(p.intervalMs).toBe(Math.round(120_000 * cfg.margin));
    expect(p.pinnedMs).toBe(p.intervalMs);
  });

  it('reads a pace persisted before the burst existed as burst 1 with no evidence', () => {
    const { burst: _b, emptyAt: _e, refillLowMs: _r, successAt: _s, ...old } = freshPace();
    expect(PaceStateSchema.parse({ ...old, intervalMs: 64_000 })).toMatchObject({ intervalMs: 64_000, burst: 1, emptyAt: null, refillLowMs: null, successAt: [] });
  });
});
