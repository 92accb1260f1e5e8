import { describe, expect, it } from 'vitest';
import { renderChart } from './chart.js';
import type { Profile } from './profile.js';
import type { RunResult } from './simulation.js';
import { serverSpec } from './test-fixtures.js';

const HOUR = 3_600_000;
const profile: Profile = {
  name: 'chart-case',
  horizonMs: 2 * HOUR,
  seeds: 1,
  server: serverSpec({ quotaChanges: [{ atMs: HOUR, capacity: 1, refill: 1, periodMs: 120_000 }] }),
  workload: { kind: 'burst', total: 1, spanMs: 0, targets: 1, batchSize: 10, tries: 5 },
};
const run = (times: number[], flaggedAt: number | null): RunResult => ({
  jobs: 1,
  feasible: 1,
  feasibleWaits: [],
  completed: 0,
  gaveUp: 0,
  waits: [],
  received: times.map((at) => ({ at, status: 200 })),
  refusals: 0,
  flaggedAt,
  stats: {},
});

describe('renderChart', () => {
  it('draws the hidden limit as steps, one line per strategy and a cross where one was flagged', () => {
    const svg = renderChart(profile, { calm: run([0, 600_000], null), eager: run([0, 1, 2, 3], 30_000) });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // calm: one line; eager: its line to the flag, then a faint one.
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(svg.match(/stroke-dasharray="2 3"/g)).toHaveLength(1);
    // 1 a minute, then 0.5 a minute: the step path has two levels.
    const limit = /<path d="(M[^"]+)" fill="none" stroke="#000"/.exec(svg)?.[1] ?? '';
    expect(new Set([...limit.matchAll(/,([\d.]+)/g)].map((m) => m[1])).size).toBe(2);
    expect(svg).toContain('eager ✕ flagged');
    expect(svg).not.toContain('calm ✕');
  });
});
