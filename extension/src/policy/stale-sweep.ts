import type { PolicyConfig } from '../../../shared/policy-config.js';
import type { PolicyClock } from './types.js';

export type StaleLeaseConfig = PolicyConfig['staleLease'];

/** What the sweep needs to know of a lease. */
export interface SweepableLease {
  readonly done: boolean;
  /** Wall ms of the last activity (admission, touch). */
  readonly lastActivityAt: number;
  /** Monotonic ms of the last activity; null until a sweep (or a busy check) stamps it. */
  lastActivityMono: number | null;
}

/**
 * The monotonic time of a lease's last activity. Activity is stamped with the wall clock only
 * (reading a monotonic clock on every admission and stream chunk is the costliest thing on the
 * hot path); the first sweep after it converts the stamp: the activity happened after the
 * previous sweep at `sinceMono` (else that sweep would have stamped it), so its wall age is
 * clamped to that interval. Exact while the wall clock runs true; off by at most one interval
 * across a wall-clock jump.
 */
export function activityMono(lease: SweepableLease, nowMono: number, nowWall: number, sinceMono: number): number {
  if (lease.lastActivityMono === null) {
    const age = Math.min(Math.max(nowWall - lease.lastActivityAt, 0), Math.max(nowMono - sinceMono, 0));
    lease.lastActivityMono = nowMono - age;
  }
  return lease.lastActivityMono;
}

/** The leases idle for at least `idleTimeoutMs`, with how long each was idle; stamps every lease it sees. */
export function findStale<L extends SweepableLease>(leases: Iterable<L>, nowMono: number, nowWall: number, sinceMono: number, idleTimeoutMs: number): { lease: L; idleMs: number }[] {
  const stale: { lease: L; idleMs: number }[] = [];
  for (const lease of leases) {
    if (lease.done) continue;
    const idleMs = nowMono - activityMono(lease, nowMono, nowWall, sinceMono);
    if (idleMs >= idleTimeoutMs) stale.push({ lease, idleMs: Math.round(idleMs) });
  }
  return stale;
}

/** Runs `sweep` every `sweepIntervalMs` until stopped. */
export class StaleSweeper {
  private timer: unknown = null;

  constructor(
    private readonly clock: PolicyClock,
    private intervalMs: number,
    private readonly sweep: () => void,
  ) {}

  /** Changes the interval; a running sweeper is re-armed on the new one. */
  setInterval(ms: number): void {
    if (ms === this.intervalMs) return;
    this.intervalMs = ms;
    if (this.timer === null) return;
    this.stop();
    this.start();
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = this.clock.setTimeout(this.tick, this.intervalMs);
  }

  private readonly tick = (): void => {
    this.timer = this.clock.setTimeout(this.tick, this.intervalMs);
    this.sweep();
  };

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
