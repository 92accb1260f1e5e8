// `npm run simulate`: runs every profile against every strategy on virtual time, writes the figures
// (JSON) and one SVG chart per profile beside them (in <out without .json>/); random profiles are
// also written there (profiles.json), to be run again or kept. --only, --strategies and --seeds
// narrow a run (for tuning; the committed results are a full run).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import { markdownTables, type ProfileEntry } from './readme-table.js';
import { parseProfiles, ProfileError, type Profile } from './profile.js';
import { randomProfiles } from './random-profiles.js';
import { simulateProfile, STRATEGIES } from './simulation.js';
import type { StrategyFactory } from './strategies/strategy.js';
import { goalsFor } from './goals.js';

/** The strategy the goals are read for; the others are its peers. */
const SUBJECT = 'conductor-fx';

const here = dirname(fileURLToPath(import.meta.url));
const USAGE =
  'usage: npm run simulate [-- --profiles <file.json> | --random <n> [--random-seed <s>]] [--out <results.json>] [--only <profile,…>] [--strategies <name,…>] [--seeds <n>]';
let values: { profiles?: string; out?: string; only?: string; random?: string; 'random-seed'?: string; strategies?: string; seeds?: string };
try {
  ({ values } = parseArgs({
    options: {
      profiles: { type: 'string', default: join(here, 'profiles.json') },
      out: { type: 'string', default: join(here, '..', 'results', 'simulate.json') },
      only: { type: 'string' },
      random: { type: 'string' },
      'random-seed': { type: 'string', default: '1' },
      strategies: { type: 'string' },
      seeds: { type: 'string' },
    },
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}

/** Exits with the usage line. */
function refuse(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const strategyNames = values.strategies?.split(',') ?? Object.keys(STRATEGIES);
for (const name of strategyNames) if (!(name in STRATEGIES)) refuse(`unknown strategy "${name}" (known: ${Object.keys(STRATEGIES).join(', ')})`);
const chosen = Object.fromEntries(strategyNames.map((name) => [name, STRATEGIES[name] as StrategyFactory]));
const seedsOverride = values.seeds === undefined ? undefined : Number(values.seeds);
if (seedsOverride !== undefined && !(Number.isInteger(seedsOverride) && seedsOverride >= 1)) refuse('--seeds needs a count ≥ 1');

const out = values.out as string;
const chartDir = out.replace(/\.json$/, '');
await mkdir(chartDir, { recursive: true });

let profiles: Profile[];
if (values.random !== undefined) {
  const n = Number(values.random);
  const seed = Number(values['random-seed']);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(seed)) refuse('--random needs a count ≥ 1 and --random-seed an integer');
  profiles = randomProfiles(n, seed);
  await writeFile(join(chartDir, 'profiles.json'), JSON.stringify({ profiles }, null, 2) + '\n');
} else {
  try {
    profiles = parseProfiles(JSON.parse(await readFile(values.profiles as string, 'utf8')));
  } catch (err) {
    console.error(err instanceof ProfileError || err instanceof SyntaxError ? `${values.profiles}: ${err.message}` : err);
    process.exit(2);
  }
}
const only = values.only?.split(',');
for (const name of only ?? []) if (!profiles.some((p) => p.name === name)) refuse(`no profile named "${name}"`);

const started = performance.now();
const results: Record<string, ProfileEntry> = {};
const seeds: Record<string, number> = {};
for (const listed of profiles) {
  if (only !== undefined && !only.includes(listed.name)) continue;
  const profile = seedsOverride === undefined ? listed : { ...listed, seeds: seedsOverride };
  const t0 = performance.now();
  const figures = await simulateProfile(profile, chosen);
  const { firstRuns, strategies, ...rest } = figures;
  const subject = strategies[SUBJECT];
  const goals = subject === undefined ? {} : { goals: goalsFor(subject, Object.entries(strategies).filter(([n]) => n !== SUBJECT).map(([, f]) => f)) };
  results[profile.name] = { ...rest, ...goals, ...strategies };
  seeds[profile.name] = profile.seeds;
  await writeFile(join(chartDir, `${profile.name}.svg`), renderChart(profile, firstRuns));
  console.log(`\n== ${profile.name} (${profile.seeds} seeds, ${figures.jobs} jobs, feasible ${figures.feasible}, ${Math.round(performance.now() - t0)} ms)`);
  console.log('strategy'.padEnd(14), 'completed', 'gave up', 'feasible', ' 429s', 'share429', 'flagged', '  p50 wait', '  p95 wait');
  for (const [name, f] of Object.entries(strategies)) {
    const min = (v: number | null): string => (v === null ? '-' : `${(v / 60_000).toFixed(1)} min`);
    console.log(name.padEnd(14), String(f.completed).padStart(9), String(f.gave_up).padStart(7), String(f.feasible_share).padStart(8), String(f.answered_429).padStart(5), String(f.share_429).padStart(8), `${f.flagged}/${profile.seeds}`.padStart(7), min(f.p50_wait_ms).padStart(10), min(f.p95_wait_ms).padStart(10));
  }
}
await mkdir(dirname(out), { recursive: true });
const withGoals = Object.entries(results).filter(([, p]) => p.goals !== undefined);
const goalsMet = { profiles: withGoals.length, met: withGoals.filter(([, p]) => p.goals?.met === true).length, unmet: withGoals.filter(([, p]) => p.goals?.met !== true).map(([n]) => n) };
const doc = { generated_by: 'npm run simulate', strategies: strategyNames, node_version: process.version, run_ms: Math.round(performance.now() - started), goals_met: goalsMet, profiles: results };
await writeFile(out, JSON.stringify(doc, null, 2) + '\n');
console.log(`\n${markdownTables(results, doc.strategies, seeds)}`);
if (goalsMet.profiles > 0) console.log(`${SUBJECT} meets every goal in ${goalsMet.met} of ${goalsMet.profiles} profiles${goalsMet.unmet.length > 0 ? ` (not in: ${goalsMet.unmet.join(', ')})` : ''}`);
console.log(`written to ${out} and ${chartDir}/ in ${doc.run_ms} ms`);
