import { describe, expect, it } from 'vitest';
import { backoffDeadline, clampRetryAfterMs, nextBackoffMs } from './backoff.js';

const full = { strategy: 'full' as const, baseMs: 1000, maxMs: 10_000, maxRetryAfterMs: 60_000 };
const decorrelated = { ...full, strategy: 'decorrelated' as const };

describe('nextBackoffMs', () => {
  it('full jitter: uniform below base · 2^(n-1), capped at maxMs', () => {
    expect(nextBackoffMs(full, 0, 1, () => 0.5)).toBe(500);
    expect(nextBackoffMs(full, 0, 3, () => 0.5)).toBe(2000);
    expect(nextBackoffMs(full, 0, 3, () => 0)).toBe(0);
    expect(nextBackoffMs(full, 0, 30, () => 0.999)).toBe(9990);
    expect(nextBackoffMs(full, 0, 5000, () => 0.5)).toBe(5000);
  });

  it('decorrelated jitter: between base and three times the previous delay, capped', () => {
    expect(nextBackoffMs(decorrelated, 0, 1, () => 0)).toBe(1000);
    expect(nextBackoffMs(decorrelated, 0, 1, () => 0.5)).toBe(2000);
    expect(nextBackoffMs(decorrelated, 2000, 2, () => 0.5)).toBe(3500);
    expect(nextBackoffMs(decorrelated, 9000, 5, () => 0.9)).toBe(10_000);
  });
});

describe('clampRetryAfterMs', () => {
  it('ignores absent, non-positive and non-finite values and caps at maxRetryAfterMs', () => {
    expect(clampRetryAfterMs(full, undefined)).toBe(0);
    expect(clampRetryAfterMs(full, -5)).toBe(0);
    expect(clampRetryAfterMs(full, Number.NaN)).toBe(0);
    expect(clampRetryAfterMs(full, 30_000)).toBe(30_000);
    expect(clampRetryAfterMs(full, 10 * 3_600_000)).toBe(60_000);
  });
});

describe('backoffDeadline', () => {
  it('takes the later of backoff and Retry-After, never earlier than the deadline in force', () => {
    expect(backoffDeadline(1000, 500, 0, null)).toBe(1500);
    expect(backoffDeadline(1000, 500, 30_000, null)).toBe(31_000);
    expect(backoffDeadline(1000, 50_000, 30_000, null)).toBe(51_000);
    expect(backoffDeadline(1000, 500, 0, 99_000)).toBe(99_000);
  });
});
