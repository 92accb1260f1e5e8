import { HiddenBucket } from './hidden-bucket.js';
import type { ServerSpec } from './profile.js';
import type { Job } from './workload.js';

/**
 * The most jobs any client could complete by `horizonMs` without a single refusal, knowing the
 * hidden bucket: each conversation serves one job at a time, nothing is sent during an outage or
 * beyond `maxRequestsPer60s`, and every token goes, as soon as it exists, to the longest-waiting
 * job that is ready. Sending as early as possible never loses a token to a full bucket, so for one
 * conversation this is the optimum; with several it is the greedy schedule (an optimum up to which
 * conversation's job ends first at the horizon).
 */
export function feasibleCount(server: ServerSpec, jobs: readonly Job[], horizonMs: number): number {
  return feasibleSchedule(server, jobs, horizonMs).length;
}

/** The oracle's schedule: per job it completes by the horizon, the wait from its arrival to its sending. */
export function feasibleSchedule(server: ServerSpec, jobs: readonly Job[], horizonMs: number): { job: Job; waitMs: number }[] {
  const bucket = new HiddenBucket(server);
  const queues = new Map<number, Job[]>();
  for (const job of [...jobs].sort((a, b) => a.arrivalMs - b.arrivalMs || a.id - b.id)) {
    const q = queues.get(job.target) ?? [];
    q.push(job);
    queues.set(job.target, q);
  }
  const freeAt = new Map<number, number>();
  const readyAt = (target: number, job: Job): number => Math.max(job.arrivalMs, freeAt.get(target) ?? 0);
  const sent: number[] = [];
  const perMinute = server.flag.maxRequestsPer60s;
  let t = 0;
  const completed: { job: Job; waitMs: number }[] = [];
  for (;;) {
    let earliest = Infinity;
    for (const [target, q] of queues) if (q.length > 0) earliest = Math.min(earliest, readyAt(target, q[0] as Job));
    if (earliest === Infinity) break;
    t = Math.max(t, earliest);
    // Move t past every constraint until none moves it.
    for (let moved = true; moved; ) {
      moved = false;
      const wait = bucket.msUntilToken(t);
      if (wait > 0) {
        t += wait;
        moved = true;
      }
      if (sent.length >= perMinute) {
        const free = (sent[sent.length - perMinute] as number) + 60_000;
        if (free > t) {
          t = free;
          moved = true;
        }
      }
      const outage = server.outages.find((o) => t >= o.fromMs && t < o.toMs);
      if (outage !== undefined) {
        t = outage.toMs;
        moved = true;
      }
    }
    if (t > horizonMs) break;
    let pick: { target: number; job: Job } | null = null;
    for (const [target, q] of queues) {
      const job = q[0];
      if (job === undefined || readyAt(target, job) > t) continue;
      if (pick === null || job.arrivalMs < pick.job.arrivalMs || (job.arrivalMs === pick.job.arrivalMs && job.id < pick.job.id)) pick = { target, job };
    }
    if (pick === null) continue;
    (queues.get(pick.target) as Job[]).shift();
    bucket.take(t);
    sent.push(t);
    freeAt.set(pick.target, t + pick.job.replyMs);
    if (t + pick.job.replyMs <= horizonMs) completed.push({ job: pick.job, waitMs: t - pick.job.arrivalMs });
  }
  return completed;
}
