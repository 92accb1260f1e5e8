import type { Scheduler } from '../scheduler.js';
import type { Answer } from '../sim-server.js';
import type { Job } from '../workload.js';

/** What a strategy gets from the simulation: virtual time, its own seeded randomness, the platform. */
export interface SimContext {
  readonly sched: Scheduler;
  /** The strategy's own seeded stream (also Math.random during the run). */
  readonly random: () => number;
  /** The caller's budget of tries per job. */
  readonly tries: number;
  /** Sends a job's request to the platform; resolves when the answer is complete. A served answer streams: `onChunk` runs every few seconds until then. */
  send(job: Job, onChunk?: () => void): Promise<Answer>;
  /** True once the horizon is reached: loops should stop trying. */
  readonly stopped: boolean;
}

/** A way of sending the caller's jobs: each job is submitted once, as it arrives. */
export interface Strategy {
  /** Ready to take jobs (e.g. the engine's initialize). */
  start(): Promise<void>;
  /** Takes a job as it arrives; settles when its caller stops trying (served, or its tries spent). */
  submit(job: Job): Promise<void>;
  /** The horizon is reached: release timers and waiters. */
  stop(): void;
  /** Strategy-specific counters for the results (e.g. the engine's refusals by code). */
  stats?(): Record<string, number>;
}

export type StrategyFactory = (ctx: SimContext) => Strategy;

/** Whether an answer served the request. */
export const served = (a: Answer): boolean => a.status >= 200 && a.status < 300;

/**
 * Per-conversation FIFO lanes: each target runs one job at a time, in arrival order (a
 * conversation's next message waits for the reply to the last). `work` runs a job to its end.
 */
export function lanes(work: (job: Job) => Promise<void>): (job: Job) => Promise<void> {
  const tails = new Map<number, Promise<void>>();
  return (job) => {
    const tail = (tails.get(job.target) ?? Promise.resolve()).then(() => work(job)).catch(() => undefined);
    tails.set(job.target, tail);
    return tail;
  };
}
