import { DefaultRateLimiter, DEFAULT_RETRY_DELAY_BASE, MAXIMUM_RETRY_DELAY, THROTTLING_RETRY_DELAY_BASE } from '@smithy/util-retry';
import { lanes, served, type StrategyFactory } from './strategy.js';

/**
 * The AWS SDK's adaptive mode as a client-side limiter: the real DefaultRateLimiter (CUBIC on the
 * sending rate) takes a token before every try and learns from each answer (429 = throttling);
 * between tries the SDK's exponential backoff with full jitter (base 100 ms, 500 ms after a
 * throttle, at most 20 s), never shorter than a Retry-After. One request per conversation at a
 * time. The limiter reads Date.now and sleeps with setTimeout: both are virtual during a run.
 */
export const awsAdaptive: StrategyFactory = (ctx) => {
  const limiter = new DefaultRateLimiter();
  return {
    start: async () => {},
    submit: lanes(async (job) => {
      for (let attempt = 0; attempt < ctx.tries && !ctx.stopped; attempt++) {
        await limiter.getSendToken();
        if (ctx.stopped) return;
        const answer = await ctx.send(job);
        const throttled = answer.status === 429;
        limiter.updateClientSendingRate(throttled ? { errorType: 'THROTTLING' } : {});
        if (served(answer)) return;
        const base = throttled ? THROTTLING_RETRY_DELAY_BASE : DEFAULT_RETRY_DELAY_BASE;
        const backoffMs = Math.floor(ctx.random() * Math.min(MAXIMUM_RETRY_DELAY, base * 2 ** attempt));
        const hint = Number(answer.headers['retry-after']);
        await ctx.sched.sleep(Math.max(backoffMs, Number.isFinite(hint) ? hint * 1000 : 0));
      }
    }),
    stop: () => {},
  };
};
