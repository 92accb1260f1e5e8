import type { PolicyConfig } from '../../../shared/policy-config.js';
import { MAX_PACE_SUCCESSES, type PaceState } from '../../../shared/policy-state.js';
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
 *
 * The pace is a credit, not only a gap: credit accrues one dispatch per gap while the account is
 * idle, up to the learned burst, so a waiting backlog may spend what a long idle refilled at once.
 * The burst is learned only from what the platform already accepted, by conservation of its
 * tokens: in any span [a, b] the successes dispatched cannot exceed the bucket's capacity plus what
 * it refilled, so capacity ≥ successes − (b − a) / refill − 1. The refill used is a lower bound
 * (a faster refill makes the bound smaller: safe), and the burst is learned only when a throttle
 * measured that refill. It never probes upward; a throttle while a burst was allowed (the bucket
 * shrank, or the measure was wrong) returns it to 1 and forgets the evidence.
 */

/** The gap the configured window allows at its fastest: its dispatches spread evenly, or its spacing if longer. */
export function ceilingGapMs(limit: RateLimit): number {
  return Math.max(limit.minSpacingMs, Math.ceil(limit.windowMs / limit.requestsPerMinutePerPlatform));
}

/** When the pace lets the next dispatch go: null if now (or nothing learned yet), else epoch ms. */
export function paceNextAt(p: PaceState, lastDispatchAt: number | null, now: number): number | null {
  const empty = p.emptyAt ?? lastDispatchAt;
  if (p.intervalMs === null || empty === null) return null;
  const at = empty + p.intervalMs;
  return at > now ? at : null;
}

/** A dispatch at `now` spends one credit: the credit (at most `burst`) is what accrued since it was last zero. */
export function paceDispatched(p: PaceState, lastDispatchAt: number | null, now: number): void {
  if (p.intervalMs === null) return;
  const empty = p.emptyAt ?? lastDispatchAt ?? now;
  p.emptyAt = Math.max(empty, now - p.burst * p.intervalMs) + p.intervalMs;
}

/**
 * The largest burst the successes prove by conservation, given a lower bound of the refill
 * interval: the most, over every span of them, of successes − span / refill − 1 (at least 1).
 */
export function provenBurst(successAt: readonly number[], refillLowMs: number): number {
  let best = 1;
  for (let i = 0; i < successAt.length; i++) {
    for (let j = i + best; j < successAt.length; j++) {
      const bound = Math.floor(j - i + 1 - ((successAt[j] as number) - (successAt[i] as number)) / refillLowMs - 1);
      if (bound > best) best = bound;
    }
  }
  return Math.min(best, MAX_PACE_SUCCESSES);
}

/**
 * A success of a lease dispatched at `dispatchedAt`; with work waiting it may raise the pace one
 * step. Returns whether the gap changed. A lease dispatched before the last throttle says nothing
 * about the bucket since: it is not counted (it would make the refill look faster than it is).
 */
export function paceSucceeded(p: PaceState, cfg: PaceConfig, ceilingMs: number, now: number, backlog: boolean, dispatchedAt: number): boolean {
  noteSuccess(p.successAt, dispatchedAt);
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

/** Keeps a success's dispatch time, in order; when full, the older half goes at once (cheap on the hot path). */
function noteSuccess(successAt: number[], dispatchedAt: number): void {
  if (successAt.length >= MAX_PACE_SUCCESSES) successAt.splice(0, MAX_PACE_SUCCESSES / 2);
  let i = successAt.length;
  while (i > 0 && (successAt[i - 1] as number) > dispatchedAt) i--;
  if (i === successAt.length) successAt.push(dispatchedAt);
  else successAt.splice(i, 0, dispatchedAt);
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
  // The first throttle named a token due before this one: someone spent it unseen (a success sent
  // before the first refusal came back), so at least one token came between. Assuming one is the
  // slower, safe reading.
  const unseen = recent && hintsExact && successes === 0 && (p.lastThrottleHintMs as number) <= elapsed;
  let measured: number | null = null;
  if (recent && hintsExact && (successes >= 1 || unseen)) measured = Math.max(elapsed + hintMs - (p.lastThrottleHintMs as number), elapsed / 2) / Math.max(1, successes);
  // Without exact token times, S successes since an empty bucket bound the refill by T / (S - 1).
  else if (recent && successes >= 2) measured = elapsed / (successes - 1);
  // A lower bound of the refill, only from exact hints: a hint is the time to the next token of an
  // empty bucket, never more than one refill. Counting successes bounds nothing from below (a
  // full bucket wastes its refill), so without exact hints no burst is learned.
  const refillLow = measured === null || !hintsExact ? null : Math.min(measured, Math.max(hintMs, p.lastThrottleHintMs as number));
  const learnedBefore = p.intervalMs !== null;
  // A throttle while a burst was allowed: the burst was wrong (or the bucket shrank); forget it.
  const burst = p.burst === 1 && refillLow !== null && refillLow >= 1 ? provenBurst(p.successAt, refillLow) : 1;
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
  p.burst = burst;
  p.refillLowMs = refillLow === null ? null : Math.max(1, Math.round(refillLow));
  p.emptyAt = now;
  // The successes before the first throttle are kept: the second one measures the refill they need.
  if (learnedBefore) p.successAt = [];
  return Math.max(hintMs > 0 ? hintMs : cfg.throttleHoldMs, next);
}
