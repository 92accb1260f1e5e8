import { describe, expect, it } from 'vitest';
import { goalsFor } from './goals.js';
import type { StrategyFigures } from './simulation.js';
import { strategyFigures } from './test-fixtures.js';

const figures = (over: Partial<StrategyFigures>): StrategyFigures => strategyFigures({ completed: 100, feasible_share: 0.95, requests: 100, share_429: 0.01, answered_429: 1, ...over });

describe('goalsFor', () => {
  it('is met when every goal holds, against flagged and unflagged peers', () => {
    const g = goalsFor(figures({}), [figures({ flagged: 3, completed: 120 }), figures({ completed: 100 })]);
    expect(g).toEqual({ never_flagged: true, feasible_share_0_90: true, within_429_goal: true, fewer_flags_than_peers: true, completes_as_much_as_unflagged_peers: true, met: true });
  });

  it('fails each goal on its own', () => {
    expect(goalsFor(figures({ flagged: 1 }), [figures({ flagged: 2 })])).toMatchObject({ never_flagged: false, fewer_flags_than_peers: true, met: false });
    expect(goalsFor(figures({ flagged: 2 }), [figures({ flagged: 2 })]).fewer_flags_than_peers).toBe(false);
    expect(goalsFor(figures({ flagged: 1 }), [figures({ flagged: 0, completed: 1 })]).fewer_flags_than_peers).toBe(false);
    expect(goalsFor(figures({ feasible_share: 0.89 }), []).feasible_share_0_90).toBe(false);
    expect(goalsFor(figures({ within_429_goal: false }), []).within_429_goal).toBe(false);
    // A flagged peer's larger count does not count; an unflagged one's does.
    expect(goalsFor(figures({ completed: 90 }), [figures({ flagged: 1, completed: 200 })]).completes_as_much_as_unflagged_peers).toBe(true);
    expect(goalsFor(figures({ completed: 90 }), [figures({ completed: 91 })])).toMatchObject({ completes_as_much_as_unflagged_peers: false, met: false });
  });
});
