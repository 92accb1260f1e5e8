import { describe, expect, it } from 'vitest';
import { randomProfiles } from './random-profiles.js';

describe('randomProfiles', () => {
  it('draws valid profiles, the same for the same seed and others for another', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const a = randomProfiles(40, seed);
      expect(a).toHaveLength(40);
      expect(randomProfiles(40, seed)).toEqual(a);
      expect(new Set(a.map((p) => p.name)).size).toBe(40);
    }
    expect(randomProfiles(5, 1).map((p) => p.server.bucket)).not.toEqual(randomProfiles(5, 2).map((p) => p.server.bucket));
  });

  it('covers the platform features a policy must handle', () => {
    const all = randomProfiles(200, 9);
    expect(all.some((p) => p.server.capBody)).toBe(true);
    expect(all.some((p) => p.server.quotaChanges.length > 0)).toBe(true);
    expect(all.some((p) => p.server.outages.length > 0)).toBe(true);
    expect(new Set(all.map((p) => (typeof p.server.retryAfter === 'string' ? p.server.retryAfter : 'fixed')))).toEqual(new Set(['exact', 'none', 'fixed']));
    expect(new Set(all.map((p) => p.workload.kind))).toEqual(new Set(['batches', 'burst', 'poisson']));
    const perMinute = all.map((p) => (p.server.bucket.refill * 60_000) / p.server.bucket.periodMs);
    expect(Math.min(...perMinute)).toBeGreaterThanOrEqual(0.249);
    expect(Math.max(...perMinute)).toBeLessThanOrEqual(4.01);
  });
});
