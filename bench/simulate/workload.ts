import type { Profile } from './profile.js';

/** One unit of the caller's work: a request for conversation `target`, arriving at `arrivalMs`. */
export interface Job {
  id: number;
  arrivalMs: number;
  target: number;
  /** How long the platform takes to serve it (drawn once, so every strategy and the oracle see the same). */
  replyMs: number;
}

/** The jobs of one seeded run, by arrival (ties by id). */
export function makeJobs(profile: Profile, random: () => number): Job[] {
  const w = profile.workload;
  const [lo, hi] = profile.server.replyMs;
  const arrivals: number[] = [];
  if (w.kind === 'burst') for (let i = 0; i < w.total; i++) arrivals.push(0);
  else if (w.kind === 'batches') {
    const batches = Math.ceil(w.total / w.batchSize);
    for (let i = 0; i < w.total; i++) arrivals.push(Math.floor((Math.floor(i / w.batchSize) * w.spanMs) / batches));
  } else {
    // A Poisson process with `total` arrivals over the span: uniform arrival times, sorted.
    for (let i = 0; i < w.total; i++) arrivals.push(Math.floor(random() * w.spanMs));
    arrivals.sort((a, b) => a - b);
  }
  return arrivals.map((arrivalMs, id) => ({
    id,
    arrivalMs,
    target: w.kind === 'poisson' ? Math.floor(random() * w.targets) : id % w.targets,
    replyMs: Math.round(lo + random() * (hi - lo)),
  }));
}
