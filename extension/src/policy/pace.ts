import type { PolicyConfig } from '../../../shared/policy-config.js';
import type { PaceState } from '../../../shared/policy-state.js';
import type { RateLimit } from './rate-window.js';

export type PaceConfig = PolicyConfig['pace'];

/**
 * An account's adaptive pace: the least gap between two dispatches, learned from the platform's
 * answers. Pure: every function takes the time and mutates only the state it is given.
 *
 * Chat platforms hide a token bucket (a burst, then about one request a minute) and may flag an
 * account after a few 429s an hour, so exploring is itself the risk. The pace therefore learns
 * from each throttle rather than probing blindly:
 * - first throttle (nothing learned): the gap becomes the streak's mean gap times `cutFactor`;
 * - a second throttle soon after, with successes between: the bucket was empty at both, so the
 *   successes are the tokens refilled between them; when both named Retry-After the token times
 *   are exact (`(T + ra2 - ra1) / S`), else `T / S`. The gap becomes that refill interval times
 *   `margin` and is pinned: raising stops there;
 * - a throttle right after a raise returns to the gap that held before it, and pins it;
 * - raising (gap × raiseFactor) needs `raiseAfterSuccesses` successes while work was waiting:
 *   probing with no backlog would cost 429s for no gain. A pin older than `relearnAfterMs` stops
 *   binding, so a platform that loosened is found again.
 * The gap never goes below the configured window's (the ceiling) nor above `floorMs`.
 */

/** The gap the configured window allows at its fastest: its dispatches spread evenly, or its spacing if longer. */
export function ceilingGapMs(limit: RateLimit): number {
  return Math.max(limit.minSpacingMs, Math.ceil(limit.windowMs / limit.requestsPerMinutePerPlatform));
}

/** When the pace lets the next dispatch go: null if now (or nothing learned yet), else epoch ms. */
export function paceNextAt(p: PaceState, lastDispatchAt: number | null, now: number): number | null {
  if (p.intervalMs === null || lastDispatchAt === null) return null;
  const at = lastDispatchAt + p.intervalMs;
  return at > now ? at : null;
}

/** A dispatch went out: it may start the success streak. */
export function paceDispatched(p: PaceState, now: number): void {
  if (p.streakStartAt === null) p.streakStartAt = now;
}

/** A success; with work waiting it may raise the pace one step. Returns whether the gap changed. */
export function paceSucceeded(p: PaceState, cfg: PaceConfig, ceilingMs: number, now: number, backlog: boolean): boolean {
  p.streakSuccesses += 1;
  if (p.intervalMs === null || !backlog) return false;
  p.raiseCredits += 1;
  if (p.raiseCredits < cfg.raiseAfterSuccesses) return false;
  p.raiseCredits = 0;
  const pinBinds = p.pinnedMs !== null && (p.lastThrottleAt === null || now - p.lastThrottleAt < cfg.relearnAfterMs);
  const bound = Math.max(ceilingMs, pinBinds ? (p.pinnedMs as number) : 0);
  if (p.intervalMs <= bound) return false;
  p.lastGoodMs = p.intervalMs;
  p.intervalMs = Math.max(bound, Math.round(p.intervalMs * cfg.raiseFactor));
  return true;
}

/**
 * A throttle (429, usage cap): cuts the pace and returns how long to hold every dispatch of the
 * account, in ms: at least the server's hint (Retry-After, reset time; 0 if none, then at least
 * `throttleHoldMs`), and at least the new gap.
 */
export function paceThrottled(p: PaceState, cfg: PaceConfig, ceilingMs: number, now: number, reason: string, hintMs: number): number {
  const recent = p.lastThrottleAt !== null && now - p.lastThrottleAt < cfg.relearnAfterMs;
  const since = recent ? (p.lastThrottleAt as number) : (p.streakStartAt ?? now);
  const successes = p.streakSuccesses;
  const elapsed = Math.max(0, now - since);
  const current = p.intervalMs ?? ceilingMs;
  let next: number;
  let pinned: number | null = null;
  if (p.lastGoodMs !== null && p.intervalMs !== null && p.intervalMs < p.lastGoodMs) {
    next = p.lastGoodMs;
    pinned = next;
  } else if (recent && successes >= 1 && (successes >= 2 || (hintMs > 0 && p.lastThrottleHintMs !== null))) {
    const tokensSpan = hintMs > 0 && p.lastThrottleHintMs !== null ? elapsed + hintMs - p.lastThrottleHintMs : elapsed;
    next = (Math.max(tokensSpan, elapsed / 2) / successes) * cfg.margin;
    pinned = next;
  } else if (recent) {
    next = Math.max(current * cfg.cutFactor, elapsed * cfg.margin);
  } else {
    next = Math.max(current, elapsed / Math.max(successes, 1)) * cfg.cutFactor;
  }
  next = Math.round(Math.min(cfg.floorMs, Math.max(ceilingMs, next)));
  p.intervalMs = next;
  p.pinnedMs = pinned === null ? null : next;
  p.lastGoodMs = null;
  p.lastCutAt = now;
  p.lastCutReason = reason.slice(0, 64);
  p.lastThrottleAt = now;
  p.lastThrottleHintMs = hintMs > 0 ? Math.round(hintMs) : null;
  p.streakSuccesses = 0;
  p.streakStartAt = null;
  p.raiseCredits = 0;
  return Math.max(hintMs > 0 ? hintMs : cfg.throttleHoldMs, next);
}
