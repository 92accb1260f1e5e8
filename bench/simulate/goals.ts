import type { StrategyFigures } from './simulation.js';

/** Issue 10's goals for conductor-fx in one profile, each read from the figures, and whether all hold. */
export interface Goals {
  /** 0 flagged runs. */
  never_flagged: boolean;
  /** feasible_share ≥ 0.90. */
  feasible_share_0_90: boolean;
  /** 429s at most 2 % of requests or 2 per limit regime, whichever allows more. */
  within_429_goal: boolean;
  /** No more flagged runs than any peer, strictly fewer wherever a peer was flagged. */
  fewer_flags_than_peers: boolean;
  /** At least the completed work of the best peer that was never flagged (true when none was). */
  completes_as_much_as_unflagged_peers: boolean;
  met: boolean;
}

/** Reads the goals for `subject` against `peers` (every other strategy of the run). */
export function goalsFor(subject: StrategyFigures, peers: readonly StrategyFigures[]): Goals {
  const bestUnflagged = Math.max(0, ...peers.filter((p) => p.flagged === 0).map((p) => p.completed));
  const g = {
    never_flagged: subject.flagged === 0,
    feasible_share_0_90: subject.feasible_share >= 0.9,
    within_429_goal: subject.within_429_goal,
    fewer_flags_than_peers: peers.every((p) => (p.flagged > 0 ? subject.flagged < p.flagged : subject.flagged === 0)),
    completes_as_much_as_unflagged_peers: subject.completed >= bestUnflagged,
  };
  return { ...g, met: Object.values(g).every(Boolean) };
}
