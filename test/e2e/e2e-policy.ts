import type { PolicyConfigInput } from '../../shared/policy-config.js';

/**
 * A policy that keeps the end-to-end runs short yet lets every stage be seen: no jitter or
 * spacing, sub-second backoff (a Retry-After is capped to a second), and a window that holds
 * `dispatchesPerWindow` requests for ten minutes, so it is still full after a restart. The
 * circuit opens after three failures and stays open for minutes, longer than any run.
 */
export function e2ePolicy(dispatchesPerWindow: number): PolicyConfigInput {
  return {
    rateLimit: { requestsPerMinutePerPlatform: dispatchesPerWindow, windowMs: 10 * 60_000, minSpacingMs: 0 },
    jitter: { muMs: 0, sigmaMs: 0, minMs: 0, maxMs: 0 },
    backoff: { strategy: 'full', baseMs: 100, maxMs: 1_000, maxRetryAfterMs: 1_000 },
    circuitBreaker: { failureThreshold: 3, openMs: 5 * 60_000, maxOpenMs: 10 * 60_000 },
  };
}
