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
 * - first throttle (nothing learned): the gap in force times `cutFactor`;
 * - a second throttle soon after, with successes between (of leases dispatched after the first):
 *   the bucket was empty at both, so the successes are the tokens refilled between them; when both
 *   named differing Retry-After the token times are exact (`(T + ra2 - ra1) / S`), else the safe
 *   bound `T / (S - 1)`. The gap becomes that refill interval times `margin` and is pinned:
 *   raising stops there. With nothing to measure by, the gap is cut (twice when not one success
 *   came between: the refill is slower than all that elapsed);
 * - a throttle right after a raise returns to the gap that held before it (or the measure, if
 *   slower), and pins it;
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

/**
 * A success of a lease dispatched at `dispatchedAt`; with work waiting it may raise the pace one
 * step. Returns whether the gap changed. A lease dispatched before the last throttle says nothing
 * about the bucket since: it is not counted (it would make the refill look faster than it is).
 */
export function paceSucceeded(p: PaceState, cfg: PaceConfig, ceilingMs: number, now: number, backlog: boolean, dispatchedAt: number): boolean {
  if (p.lastThrottleAt !== null && dispatchedAt <= p.lastThrottleAt) return false;
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
  const successes = p.streakSuccesses;
  const elapsed = recent ? Math.max(0, now - (p.lastThrottleAt as number)) : 0;
  const current = p.intervalMs ?? ceilingMs;
  // Both throttles named the time to the next token, and they differ (a fixed Retry-After repeats itself).
  const hintsExact = hintMs > 0 && p.lastThrottleHintMs !== null && hintMs !== p.lastThrottleHintMs;
  let measured: number | null = null;
  if (recent && successes >= 1 && hintsExact) measured = Math.max(elapsed + hintMs - (p.lastThrottleHintMs as number), elapsed / 2) / successes;
  // Without exact token times, S successes since an empty bucket bound the refill by T / (S - 1).
  else if (recent && successes >= 2) measured = elapsed / (successes - 1);
  let next: number;
  let pinned = true;
  if (p.lastGoodMs !== null && p.intervalMs !== null && p.intervalMs < p.lastGoodMs) {
    next = Math.max(p.lastGoodMs, (measured ?? 0) * cfg.margin);
  } else if (measured !== null) {
    next = measured * cfg.margin;
  } else {
    pinned = false;
    // Nothing measured: with no success since the last throttle the refill is slower than all that
    // elapsed, so cut twice; a first throttle cuts the gap in force (not the streak's mean gap:
    // idle time would make it far too slow), and the next throttle measures the refill.
    const base = recent ? Math.max(current, elapsed) : current;
    next = base * (recent && successes === 0 ? cfg.cutFactor * cfg.cutFactor : cfg.cutFactor);
  }
  next = Math.round(Math.min(cfg.floorMs, Math.max(ceilingMs, next)));
  p.intervalMs = next;
  p.pinnedMs = pinned ? next : null;
  p.lastGoodMs = null;
  p.lastCutAt = now;
  p.lastCutReason = reason.slice(0, 64);
  p.lastThrottleAt = now;
  p.lastThrottleHintMs = hintMs > 0 ? Math.round(hintMs) : null;
  p.streakSuccesses = 0;
  p.raiseCredits = 0;
  return Math.max(hintMs > 0 ? hintMs : cfg.throttleHoldMs, next);
}
