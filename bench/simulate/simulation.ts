import { percentile, round } from '../stats.js';
import { feasibleSchedule } from './oracle.js';
import { deriveSeed, seededRandom } from './prng.js';
import type { Profile } from './profile.js';
import { Scheduler } from './scheduler.js';
import { SimServer, type Received } from './sim-server.js';
import { awsAdaptive } from './strategies/aws-adaptive.js';
import { cockatielStrategy } from './strategies/cockatiel.js';
import { conductorFx } from './strategies/conductor-fx.js';
import { naive } from './strategies/naive.js';
import { served, type SimContext, type StrategyFactory } from './strategies/strategy.js';
import { makeJobs, type Job } from './workload.js';

/** Every strategy, run on the same jobs and platform in each seeded run. */
export const STRATEGIES: Record<string, StrategyFactory> = {
  naive,
  cockatiel: cockatielStrategy,
  'aws-adaptive': awsAdaptive,
  'conductor-fx': conductorFx,
};

/** How often a served answer streams a chunk (the relay touches the lease on each, keeping it from the stale sweep). */
const CHUNK_EVERY_MS = 10_000;

/** What one seeded run of one strategy did. */
export interface RunResult {
  jobs: number;
  feasible: number;
  /** The oracle's waits (arrival to sending) of the jobs it completes. */
  feasibleWaits: number[];
  completed: number;
  /** Per completed job: from its arrival to the sending of the request that was served. */
  waits: number[];
  received: Received[];
  /** Jobs whose caller spent its budget of tries before the horizon without being served. */
  gaveUp: number;
  refusals: number;
  flaggedAt: number | null;
  stats: Record<string, number>;
}

/** Runs one strategy over one seeded run of a profile, on virtual time, to the horizon. */
export async function runOnce(profile: Profile, strategy: StrategyFactory, seed: number, strategyName: string): Promise<RunResult> {
  const jobs = makeJobs(profile, seededRandom(deriveSeed(seed, 'workload')));
  const sched = new Scheduler();
  const server = new SimServer(profile.server, () => sched.now);
  const random = seededRandom(deriveSeed(seed, strategyName));
  const waits: number[] = [];
  const done = new Set<number>();
  let stopped = false;
  let gaveUp = 0;
  const ctx: SimContext = {
    sched,
    random,
    tries: profile.workload.tries,
    get stopped() {
      return stopped;
    },
    send: (job, onChunk) => {
      const sentAt = sched.now;
      const { answer, afterMs } = server.receive(job.replyMs);
      if (onChunk !== undefined && served(answer)) for (let t = CHUNK_EVERY_MS; t < afterMs; t += CHUNK_EVERY_MS) sched.after(t, onChunk);
      return sched.sleep(afterMs).then(() => {
        if (served(answer) && !done.has(job.id)) {
          done.add(job.id);
          waits.push(sentAt - job.arrivalMs);
        }
        return answer;
      });
    },
  };
  const stats = await sched.withVirtualGlobals(random, async () => {
    const s = strategy(ctx);
    await s.start();
    const settled = (job: Job) => (): void => {
      if (!stopped && !done.has(job.id)) gaveUp += 1;
    };
    for (const job of jobs) sched.after(job.arrivalMs, () => void s.submit(job).then(settled(job)));
    await sched.run(profile.horizonMs);
    stopped = true;
    s.stop();
    return s.stats?.() ?? {};
  });
  const oracle = feasibleSchedule(profile.server, jobs, profile.horizonMs);
  return {
    jobs: jobs.length,
    feasible: oracle.length,
    feasibleWaits: oracle.map((o) => o.waitMs),
    completed: done.size,
    gaveUp,
    waits,
    received: server.received,
    refusals: server.refusals,
    flaggedAt: server.flaggedAt,
    stats,
  };
}

/** One strategy's figures for one profile, over its seeded runs (README "The simulator" defines each). */
export interface StrategyFigures {
  completed: number;
  /** Jobs whose budget of tries ran out before the horizon (mean per run): work the caller lost. */
  gave_up: number;
  feasible_share: number;
  requests: number;
  share_429: number;
  answered_429: number;
  flagged: number;
  p50_wait_ms: number | null;
  p95_wait_ms: number | null;
  /** The 429 goal: at most 2 % of requests or 2 per limit regime, whichever allows more. */
  within_429_goal: boolean;
  /** What callers were told, by code, mean per run (conductor-fx only). */
  told?: Record<string, number>;
}

export interface ProfileFigures {
  limit_regimes: number;
  jobs: number;
  /** The oracle's count (mean per run): the most any client completes without a 429. */
  feasible: number;
  /** The oracle's own waits: what even a client that knows the limit makes jobs wait. */
  feasible_p50_wait_ms: number | null;
  feasible_p95_wait_ms: number | null;
  strategies: Record<string, StrategyFigures>;
  /** Seed 0's run of each strategy, for the chart. */
  firstRuns: Record<string, RunResult>;
}

/** The median and 95th percentile of waits (null when nothing completed). */
function waitFigures(waits: readonly number[]): { p50_wait_ms: number | null; p95_wait_ms: number | null } {
  if (waits.length === 0) return { p50_wait_ms: null, p95_wait_ms: null };
  return { p50_wait_ms: Math.round(percentile(waits, 0.5)), p95_wait_ms: Math.round(percentile(waits, 0.95)) };
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Sums the figures of a strategy's runs. */
export function summarize(runs: readonly RunResult[], limitRegimes: number): StrategyFigures {
  const requests = runs.reduce((n, r) => n + r.received.length, 0);
  const refusals = runs.reduce((n, r) => n + r.refusals, 0);
  const feasible = runs.reduce((n, r) => n + r.feasible, 0);
  const waits = runs.flatMap((r) => r.waits);
  const meanRefusals = refusals / runs.length;
  const meanRequests = requests / runs.length;
  const figures: StrategyFigures = {
    completed: round(mean(runs.map((r) => r.completed)), 1),
    gave_up: round(mean(runs.map((r) => r.gaveUp)), 1),
    feasible_share: feasible === 0 ? 1 : round(runs.reduce((n, r) => n + r.completed, 0) / feasible, 3),
    requests: round(meanRequests, 1),
    share_429: requests === 0 ? 0 : round(refusals / requests, 4),
    answered_429: round(meanRefusals, 2),
    flagged: runs.filter((r) => r.flaggedAt !== null).length,
    ...waitFigures(waits),
    within_429_goal: meanRefusals <= Math.max(0.02 * meanRequests, 2 * limitRegimes),
  };
  const codes = new Set(runs.flatMap((r) => Object.keys(r.stats)));
  if (codes.size > 0) figures.told = Object.fromEntries([...codes].sort().map((c) => [c, round(mean(runs.map((r) => r.stats[c] ?? 0)), 1)]));
  return figures;
}

/** Runs every strategy over every seed of a profile. */
export async function simulateProfile(profile: Profile, strategies: Record<string, StrategyFactory> = STRATEGIES): Promise<ProfileFigures> {
  const limitRegimes = 1 + profile.server.quotaChanges.length;
  const out: ProfileFigures = { limit_regimes: limitRegimes, jobs: profile.workload.total, feasible: 0, feasible_p50_wait_ms: null, feasible_p95_wait_ms: null, strategies: {}, firstRuns: {} };
  let oracleRuns: RunResult[] = [];
  for (const [name, factory] of Object.entries(strategies)) {
    const runs: RunResult[] = [];
    for (let seed = 0; seed < profile.seeds; seed++) runs.push(await runOnce(profile, factory, seed, name));
    out.strategies[name] = summarize(runs, limitRegimes);
    out.firstRuns[name] = runs[0] as RunResult;
    if (oracleRuns.length === 0) oracleRuns = runs;
  }
  // The jobs of a seed are the same for every strategy, so the oracle's figures are too.
  out.feasible = round(mean(oracleRuns.map((r) => r.feasible)), 1);
  const oracleWaits = waitFigures(oracleRuns.flatMap((r) => r.feasibleWaits));
  out.feasible_p50_wait_ms = oracleWaits.p50_wait_ms;
  out.feasible_p95_wait_ms = oracleWaits.p95_wait_ms;
  return out;
}
