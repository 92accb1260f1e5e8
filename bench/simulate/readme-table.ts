import type { Goals } from './goals.js';
import type { StrategyFigures } from './simulation.js';

/** One profile's entry in simulate.json: its own figures beside one object per strategy. */
export type ProfileEntry = { limit_regimes: number; jobs: number; feasible: number; feasible_p50_wait_ms: number | null; feasible_p95_wait_ms: number | null; goals?: Goals } & Record<string, unknown>;

/** How a missed goal reads in the table. */
const MISSED: Record<Exclude<keyof Goals, 'met'>, string> = {
  never_flagged: 'flagged',
  feasible_share_0_90: 'share < 0.9',
  within_429_goal: 'too many 429s',
  fewer_flags_than_peers: 'flags vs peers',
  completes_as_much_as_unflagged_peers: 'less work than an unflagged peer',
};

/** The goals of a profile in a cell: "met", or the ones missed. */
function goalCell(goals: Goals | undefined): string {
  if (goals === undefined) return '–';
  if (goals.met) return 'met';
  return (Object.keys(MISSED) as (keyof typeof MISSED)[])
    .filter((k) => !goals[k])
    .map((k) => MISSED[k])
    .join(', ');
}

const minutes = (ms: number | null): string => (ms === null ? '–' : `${(ms / 60_000).toFixed(1)}`);

/**
 * The README's two tables from simulate.json's profiles: per strategy, the feasible share, 429s
 * per run and flagged runs; then each strategy's p50 / p95 wait in minutes and the jobs it gave up.
 */
export function markdownTables(profiles: Record<string, ProfileEntry>, strategies: readonly string[], seeds: Record<string, number>): string {
  const head = `| profile (limit regimes, feasible jobs) | ${strategies.join(' | ')} | conductor-fx goals missed |\n| --- |${strategies.map(() => ' --- |').join('')} --- |`;
  const rows: string[] = [];
  const waitRows: string[] = [];
  for (const [name, p] of Object.entries(profiles)) {
    const cells = strategies.map((s) => {
      const f = p[s] as StrategyFigures;
      const flagged = f.flagged > 0 ? `**flagged ${f.flagged}/${seeds[name]}**` : `0/${seeds[name]} flagged`;
      return `${f.feasible_share.toFixed(2)} · ${f.answered_429} × 429 · ${flagged}`;
    });
    rows.push(`| ${name} (${p.limit_regimes}, ${p.feasible}) | ${cells.join(' | ')} | ${goalCell(p.goals)} |`);
    const waits = strategies.map((s) => {
      const f = p[s] as StrategyFigures;
      return `${minutes(f.p50_wait_ms)} / ${minutes(f.p95_wait_ms)}${f.gave_up > 0 ? ` · ${f.gave_up} given up` : ''}`;
    });
    waitRows.push(`| ${name} | ${minutes(p.feasible_p50_wait_ms)} / ${minutes(p.feasible_p95_wait_ms)} | ${waits.join(' | ')} |`);
  }
  const waitHead = `| profile: wait p50 / p95 (min) · jobs given up | oracle | ${strategies.join(' | ')} |\n| --- | --- |${strategies.map(() => ' --- |').join('')}`;
  return `${head}\n${rows.join('\n')}\n\n${waitHead}\n${waitRows.join('\n')}\n`;
}
