import type { ServerSpec } from './profile.js';

/** A platform for tests: capacity 2, 1 a minute, exact Retry-After, flagged at 3 refusals an hour; `over` applied. */
export function serverSpec(over: Partial<ServerSpec> = {}): ServerSpec {
  return {
    bucket: { capacity: 2, refill: 1, periodMs: 60_000 },
    quotaChanges: [],
    retryAfter: 'exact',
    capBody: false,
    flag: { max429InWindow: 3, windowMs: 3_600_000, maxRequestsPer60s: 100 },
    outages: [],
    replyMs: [1_000, 1_000],
    ...over,
  };
}
