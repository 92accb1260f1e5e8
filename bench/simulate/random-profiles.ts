import { deriveSeed, seededRandom } from './prng.js';
import { parseProfiles, type Profile } from './profile.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * `n` chat-like platforms drawn from `seed` (the same seed, the same profiles), to check a policy
 * on limits it was not tuned on: sustained limits from one request every 4 minutes to 4 a minute,
 * bursts of 1 to 10, flag rules of 3 to 6 refusals an hour, with or without Retry-After, usage-cap
 * bodies, quota changes, outages, and workloads from half to over the limit.
 */
export function randomProfiles(n: number, seed: number): Profile[] {
  const raw = Array.from({ length: n }, (_, i) => {
    const r = seededRandom(deriveSeed(seed, `profile-${i}`));
    const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const perMinute = 0.25 * 2 ** (r() * 4); // 0.25 … 4 a minute, log-uniform
    const refill = int(1, 3);
    const bucket = { capacity: int(1, 10), refill, periodMs: Math.round((refill * MIN) / perMinute) };
    const spanMs = int(1, 4) * HOUR;
    const horizonMs = spanMs + 2 * HOUR;
    const quotaChanges =
      r() < 0.3 ? [{ atMs: Math.round(horizonMs * (0.3 + 0.4 * r())), capacity: Math.max(1, Math.round(bucket.capacity * pick([0.5, 2]))), refill, periodMs: Math.round(bucket.periodMs * pick([2, 0.5])) }] : [];
    const outageAt = Math.round(spanMs * r());
    const outages = r() < 0.25 ? [{ fromMs: outageAt, toMs: outageAt + int(10, 60) * MIN, status: pick([0, 500, 502, 503]) }] : [];
    const replyLo = int(2, 20) * 1_000;
    const kind = pick(['batches', 'burst', 'poisson'] as const);
    const total = Math.min(400, Math.max(10, Math.round(perMinute * (spanMs / MIN) * (0.4 + 0.8 * r()))));
    return {
      name: `random-${seed}-${i}`,
      description: 'drawn by randomProfiles',
      horizonMs,
      seeds: 3,
      server: {
        bucket,
        quotaChanges,
        retryAfter: pick(['exact', 'exact', 'none', 'none', { fixedMs: int(10, 120) * 1_000 }]),
        capBody: r() < 0.25,
        flag: { max429InWindow: int(3, 6), windowMs: HOUR, maxRequestsPer60s: int(8, 20) },
        outages,
        replyMs: [replyLo, replyLo + int(5, 180) * 1_000],
      },
      workload: { kind, total: kind === 'burst' ? Math.min(total, 60) : total, spanMs: kind === 'burst' ? 0 : spanMs, targets: int(1, 5), batchSize: int(5, 25), tries: 5 },
    };
  });
  return parseProfiles(raw);
}
