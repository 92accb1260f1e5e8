import type { PolicyConfig } from '../../../shared/policy-config.js';

export type BackoffConfig = PolicyConfig['backoff'];

/**
 * The backoff after the `failures`-th consecutive failure, capped at `maxMs`.
 * - full jitter: uniform in [0, min(maxMs, baseMs · 2^(failures-1))) (AWS "full jitter");
 * - decorrelated: uniform in [baseMs, 3 · previous) (AWS "decorrelated jitter"), so it grows
 *   from the last delay drawn rather than from the failure count.
 */
export function nextBackoffMs(cfg: BackoffConfig, previousMs: number, failures: number, random: () => number): number {
  if (cfg.strategy === 'full') {
    const ceiling = Math.min(cfg.maxMs, cfg.baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
    return Math.floor(random() * ceiling);
  }
  const upper = Math.max(previousMs, cfg.baseMs) * 3;
  return Math.min(cfg.maxMs, Math.floor(cfg.baseMs + random() * (upper - cfg.baseMs)));
}

/** A server's Retry-After, clamped to what the config allows us to honour. */
export function clampRetryAfterMs(cfg: BackoffConfig, retryAfterMs: number | undefined): number {
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return 0;
  return Math.min(Math.round(retryAfterMs), cfg.maxRetryAfterMs);
}

/**
 * When the target may be tried again: the later of our own backoff and the server's Retry-After
 * (already clamped), and never earlier than a deadline already in force.
 */
export function backoffDeadline(now: number, backoffMs: number, retryAfterMs: number, current: number | null): number {
  const until = now + Math.max(backoffMs, retryAfterMs);
  return current !== null && current > until ? current : until;
}
