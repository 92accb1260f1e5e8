import type { PolicyClock } from '../../extension/src/policy/types.js';

/** Virtual time 0 as epoch ms: what Date.now() and the engine's wall clock read at the start of a run. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** What setTimeout returns under virtual time: Node timer methods callers may use, doing nothing. */
export interface SimTimer {
  readonly event: SimEvent;
  unref(): SimTimer;
  ref(): SimTimer;
  hasRef(): boolean;
}

// Captured at load: the run's own yield must stay real while the globals are virtual.
const realSetImmediate = globalThis.setImmediate;
const yieldToMicrotasks = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/**
 * A discrete-event scheduler: virtual ms advance only from event to event, events run in time
 * order (ties in the order scheduled), and after each one every promise continuation it caused
 * runs before the next, so async code behaves as under real timers, without sleeping.
 */
export class Scheduler {
  private heap: SimEvent[] = [];
  private seq = 0;
  private t = 0;
  /** Events run so far. */
  eventsRun = 0;

  /** Virtual ms since the start of the run. */
  get now(): number {
    return this.t;
  }

  /** Runs `fn` `delayMs` from now (negative or NaN: now, after what is already due). */
  after(delayMs: number, fn: () => void): SimTimer {
    const d = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const event: SimEvent = { at: this.t + d, seq: ++this.seq, fn, cancelled: false };
    this.push(event);
    const timer: SimTimer = { event, unref: () => timer, ref: () => timer, hasRef: () => true };
    return timer;
  }

  /** Cancels a timer from after(); anything else is ignored. */
  cancel(timer: unknown): void {
    if (typeof timer === 'object' && timer !== null && 'event' in timer) (timer as SimTimer).event.cancelled = true;
  }

  /** Resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Runs every event due up to `untilMs`, then leaves the clock there; later events stay pending. */
  async run(untilMs: number): Promise<void> {
    await yieldToMicrotasks();
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.at > untilMs) break;
      this.pop();
      if (next.cancelled) continue;
      this.t = next.at;
      this.eventsRun += 1;
      next.fn();
      await yieldToMicrotasks();
    }
    this.t = Math.max(this.t, untilMs);
  }

  /** The engine's clock on this scheduler: wall = SIM_EPOCH_MS + virtual ms, monotonic = virtual ms. */
  policyClock(random: () => number): PolicyClock {
    return {
      now: () => SIM_EPOCH_MS + this.t,
      monotonic: () => this.t,
      setTimeout: (fn, ms) => this.after(ms, fn),
      clearTimeout: (handle) => this.cancel(handle),
      random,
    };
  }

  /**
   * Runs `body` with Date.now, setTimeout, clearTimeout and Math.random of this process virtual
   * (peers that read the global clock, cockatiel and the AWS limiter, then run on virtual time and
   * never sleep for real), restoring them afterwards. Like a test's fake timers: one run at a time.
   */
  async withVirtualGlobals<T>(random: () => number, body: () => Promise<T>): Promise<T> {
    const saved = { now: Date.now, setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, random: Math.random };
    Date.now = () => SIM_EPOCH_MS + this.t;
    globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => this.after(ms ?? 0, () => fn(...args))) as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((timer: unknown) => this.cancel(timer)) as typeof clearTimeout;
    Math.random = random;
    try {
      return await body();
    } finally {
      Date.now = saved.now;
      globalThis.setTimeout = saved.setTimeout;
      globalThis.clearTimeout = saved.clearTimeout;
      Math.random = saved.random;
    }
  }

  private before(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: SimEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i] as SimEvent, h[parent] as SimEvent)) break;
      [h[i], h[parent]] = [h[parent] as SimEvent, h[i] as SimEvent];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as SimEvent;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l] as SimEvent, h[m] as SimEvent)) m = l;
      if (r < h.length && this.before(h[r] as SimEvent, h[m] as SimEvent)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as SimEvent, h[i] as SimEvent];
      i = m;
    }
  }
}
