import type { ServerSpec } from './profile.js';
import type { StrategyFigures } from './simulation.js';

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

/** One strategy's figures for tests: 10 jobs all completed, nothing refused or flagged; `over` applied. */
export function strategyFigures(over: Partial<StrategyFigures> = {}): StrategyFigures {
  return {
    completed: 10,
    gave_up: 0,
    feasible_share: 1,
    requests: 10,
    share_429: 0,
    answered_429: 0,
    flagged: 0,
    p50_wait_ms: 60_000,
    p95_wait_ms: 120_000,
    within_429_goal: true,
    ...over,
  };
}
