import { bulkhead, circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, retry, wrap } from 'cockatiel';
import { served, type StrategyFactory } from './strategy.js';

/** A refused or failed answer, so cockatiel's retry and breaker see a failure. */
class HttpFailure extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/**
 * cockatiel as a careful user composes it (the bench's bulkhead of 1 and consecutive breaker, plus
 * retry with exponential backoff): one request of the account at a time, tries spaced 1 s, 2 s, 4 s…
 * (decorrelated jitter, at most 60 s), the breaker open 60 s after 3 failures in a row. Retry-After
 * is not read: cockatiel has no notion of it. Runs on virtual time through the scheduler's globals.
 */
export const cockatielStrategy: StrategyFactory = (ctx) => {
  const policy = wrap(
    bulkhead(1, Number.POSITIVE_INFINITY),
    retry(handleAll, { maxAttempts: ctx.tries - 1, backoff: new ExponentialBackoff({ initialDelay: 1_000, maxDelay: 60_000 }) }),
    circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(3) }),
  );
  return {
    start: async () => {},
    submit: (job) =>
      policy
        .execute(async () => {
          if (ctx.stopped) return;
          const answer = await ctx.send(job);
          if (!served(answer)) throw new HttpFailure(answer.status);
        })
        .catch(() => undefined),
    stop: () => {},
  };
};
