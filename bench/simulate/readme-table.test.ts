import { describe, expect, it } from 'vitest';
import { goalsFor } from './goals.js';
import { markdownTables, type ProfileEntry } from './readme-table.js';
import { strategyFigures } from './test-fixtures.js';

describe('markdownTables', () => {
  it('renders one row per profile with each strategy, the goals missed, and the waits beside the oracle', () => {
    const ours = strategyFigures({ flagged: 2, feasible_share: 0.5, answered_429: 3, gave_up: 4 });
    const peer = strategyFigures({});
    const entry: ProfileEntry = { limit_regimes: 1, jobs: 10, feasible: 10, feasible_p50_wait_ms: 30_000, feasible_p95_wait_ms: null, goals: goalsFor(ours, [peer]), 'conductor-fx': ours, naive: peer };
    const md = markdownTables({ steady: entry }, ['naive', 'conductor-fx'], { steady: 5 });
    expect(md).toContain('| steady (1, 10) | 1.00 · 0 × 429 · 0/5 flagged | 0.50 · 3 × 429 · **flagged 2/5** | flagged, share < 0.9, flags vs peers |');
    expect(md).toContain('| steady | 0.5 / – | 1.0 / 2.0 | 1.0 / 2.0 · 4 given up |');
  });
});
