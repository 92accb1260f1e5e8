import { describe, expect, it } from 'vitest';
import { seededRandom as seeded } from '../../../bench/simulate/prng.js';
import { drawJitterMs } from './jitter.js';

describe('drawJitterMs', () => {
  it('is zero when the range is [0, 0] and draws no randomness', () => {
    let calls = 0;
    expect(drawJitterMs({ muMs: 1000, sigmaMs: 500, minMs: 0, maxMs: 0 }, () => (calls++, 0.5))).toBe(0);
    expect(calls).toBe(0);
  });

  it('is exactly the mean when sigma is zero, clamped to the range', () => {
    expect(drawJitterMs({ muMs: 1200, sigmaMs: 0, minMs: 0, maxMs: 6000 }, () => 0.3)).toBe(1200);
    expect(drawJitterMs({ muMs: 1200, sigmaMs: 0, minMs: 2000, maxMs: 6000 }, () => 0.3)).toBe(2000);
    expect(drawJitterMs({ muMs: 9000, sigmaMs: 0, minMs: 0, maxMs: 6000 }, () => 0.3)).toBe(6000);
  });

  it('clamps an extreme draw to maxMs and a tiny one to minMs', () => {
    const cfg = { muMs: 1200, sigmaMs: 600, minMs: 250, maxMs: 6000 };
    // u1 → 1 - 0.9999999 gives z ≈ +5.7: far in the right tail.
    const high = [0.9999999, 0];
    expect(drawJitterMs(cfg, () => high.shift() as number)).toBe(6000);
    // same magnitude with cos(π) = -1: far in the left tail.
    const low = [0.9999999, 0.5];
    expect(drawJitterMs(cfg, () => low.shift() as number)).toBe(250);
  });

  it('has the configured mean and deviation (log-normal by moment matching) and stays in range', () => {
    const cfg = { muMs: 1200, sigmaMs: 600, minMs: 0, maxMs: 60_000 };
    const random = seeded(42);
    const n = 20_000;
    const xs = Array.from({ length: n }, () => drawJitterMs(cfg, random));
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(mean).toBeGreaterThan(1150);
    expect(mean).toBeLessThan(1250);
    expect(sd).toBeGreaterThan(540);
    expect(sd).toBeLessThan(660);
    // Skewed like human pauses: the median sits below the mean.
    const median = [...xs].sort((a, b) => a - b)[n / 2] as number;
    expect(median).toBeLessThan(mean);
    expect(Math.min(...xs)).toBeGreaterThan(0);
  });
});
