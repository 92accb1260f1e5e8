import { ConductorError } from '../../../shared/errors.js';
import type { PolicyClock } from './types.js';

/**
 * One caller waiting for admission: a promise settled exactly once, a give-up timer
 * (`waiter_timeout`), an abort listener (`cancelled`) and one stage timer (the backoff, rate or
 * jitter sleep it is in). Settling disarms all three, so a settled waiter never fires again.
 */
export class Waiter<T> {
  readonly promise: Promise<T>;
  settled = false;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (err: unknown) => void;
  private giveUpTimer: unknown = null;
  private stageTimer: unknown = null;
  private signal: AbortSignal | null = null;
  private onAbort: (() => void) | null = null;

  constructor(private readonly clock: PolicyClock) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /**
   * Makes the waiter give up after `timeoutMs` (waiter_timeout) or when `signal` aborts (cancelled);
   * `giveUp` removes it from wherever it waits and rejects it.
   */
  arm(timeoutMs: number, signal: AbortSignal | undefined, giveUp: (err: ConductorError) => void): void {
    this.giveUpTimer = this.clock.setTimeout(() => {
      this.giveUpTimer = null;
      giveUp(new ConductorError('waiter_timeout', `gave up after waiting ${timeoutMs} ms for admission`, { waited_ms: timeoutMs }));
    }, timeoutMs);
    if (signal !== undefined) {
      this.signal = signal;
      this.onAbort = () => giveUp(new ConductorError('cancelled', 'the caller aborted while waiting for admission'));
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Sleeps one stage: runs `fn` after `ms` unless the waiter settles first. */
  sleep(ms: number, fn: () => void): void {
    this.clearStage();
    this.stageTimer = this.clock.setTimeout(() => {
      this.stageTimer = null;
      fn();
    }, ms);
  }

  /** Whether a stage sleep is pending. */
  get sleeping(): boolean {
    return this.stageTimer !== null;
  }

  /** Cancels the stage sleep (the state it waited on changed). */
  clearStage(): void {
    if (this.stageTimer !== null) this.clock.clearTimeout(this.stageTimer);
    this.stageTimer = null;
  }

  /** Stops the give-up timer and abort listener: past this point the admission completes regardless. */
  disarm(): void {
    this.clearStage();
    if (this.giveUpTimer !== null) this.clock.clearTimeout(this.giveUpTimer);
    this.giveUpTimer = null;
    if (this.signal !== null && this.onAbort !== null) this.signal.removeEventListener('abort', this.onAbort);
    this.signal = null;
    this.onAbort = null;
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.disarm();
    this.resolveFn(value);
  }

  reject(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.disarm();
    this.rejectFn(err);
  }
}

/** A per-target FIFO of waiters; removal from the middle serves timeouts and aborts. */
export class LeaseQueue<W> {
  private items: W[] = [];

  get length(): number {
    return this.items.length;
  }

  push(w: W): void {
    this.items.push(w);
  }

  /** The longest-waiting caller, removed. */
  shift(): W | undefined {
    return this.items.shift();
  }

  /** Removes one waiter wherever it is; false if it was not queued. */
  remove(w: W): boolean {
    const i = this.items.indexOf(w);
    if (i === -1) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Whether any queued waiter matches. */
  some(predicate: (w: W) => boolean): boolean {
    return this.items.some(predicate);
  }

  /** Takes every waiter out (dispose). */
  drain(): W[] {
    const all = this.items;
    this.items = [];
    return all;
  }
}
