import type { ConductorError } from '../../../shared/errors.js';
import type { PolicyClock } from './types.js';

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Follows a promise without awaiting it (and without leaving a rejection unhandled). */
export function track<T>(p: Promise<T>) {
  const r: { done: boolean; value?: T; error?: ConductorError } = { done: false };
  p.then(
    (value) => Object.assign(r, { done: true, value }),
    (error: ConductorError) => Object.assign(r, { done: true, error }),
  );
  return r;
}

/** Lets every pending promise callback run (enough turns for the engine's short chains). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/**
 * A deterministic clock for tests: wall and monotonic time move only when told, timers fire in
 * due-time order (ties in creation order) with promise callbacks settled after each, and random()
 * returns queued values (then `randomDefault`).
 */
export class FakeClock implements PolicyClock {
  private wall: number;
  private mono = 0;
  private seq = 0;
  private readonly timers = new Map<number, FakeTimer>();
  private readonly randoms: number[] = [];
  randomDefault = 0.5;

  constructor(startWall = Date.UTC(2025, 0, 1)) {
    this.wall = startWall;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.mono + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  random(): number {
    return this.randoms.length > 0 ? (this.randoms.shift() as number) : this.randomDefault;
  }

  /** Queues values for the next random() calls. */
  queueRandom(...values: number[]): void {
    this.randoms.push(...values);
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves both clocks forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.mono + ms;
    for (;;) {
      await settle();
      let next: FakeTimer | undefined;
      for (const t of this.timers.values()) if (t.at <= end && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      this.timers.delete(next.seq);
      this.wall += next.at - this.mono;
      this.mono = next.at;
      next.fn();
    }
    this.wall += end - this.mono;
    this.mono = end;
    await settle();
  }

  /** A fresh clock for a restarted process: the wall clock continues `gapMs` later, monotonic starts over, no timers. */
  restarted(gapMs = 0): FakeClock {
    const clock = new FakeClock(this.wall + gapMs);
    clock.randomDefault = this.randomDefault;
    return clock;
  }
}
