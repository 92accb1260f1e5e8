import type { PolicyConfig } from '../../../shared/policy-config.js';

/** The resolved rate limit of one platform (the global one with its per-platform override applied). */
export type RateLimit = PolicyConfig['rateLimit'];

/** Resolves one platform's rate limit: the global limit with that platform's override on top. */
export function rateLimitFor(cfg: PolicyConfig, platform: string): RateLimit {
  const override = cfg.platformRateLimits[platform];
  return override === undefined ? cfg.rateLimit : { ...cfg.rateLimit, ...override };
}

/**
 * One account's sliding window (the configured ceiling): the epoch-ms times of the dispatches
 * still inside it, oldest first, and the minimum spacing between dispatches. Only the first
 * caller in the account's line may dispatch next, so no slot needs reserving while it sleeps.
 */
export class RateWindow {
  /** Dispatch times, ascending; entries before `head` have expired. */
  private times: number[] = [];
  private head = 0;
  lastDispatchAt: number | null = null;
  /** Changed since the last save (the persistence writer's flag). */
  dirty = false;

  constructor(
    /** Replaced when the config changes; the recorded dispatches stay. */
    public limit: RateLimit,
  ) {}

  /** Forgets the dispatches that left the window (a dispatch at t counts while now - windowMs < t). */
  private prune(now: number): void {
    const cut = now - this.limit.windowMs;
    const times = this.times;
    let head = this.head;
    while (head < times.length && (times[head] as number) <= cut) head++;
    if (head > 32 && head * 2 > times.length) {
      this.times = times.slice(head);
      head = 0;
    }
    this.head = head;
  }

  /** Dispatches inside the window at `now`. */
  count(now: number): number {
    this.prune(now);
    return this.times.length - this.head;
  }

  /** When the next dispatch may go out: null if now, else the epoch ms the window and spacing allow it. */
  nextSlotAt(now: number): number | null {
    const n = this.count(now);
    let at = now;
    if (n >= this.limit.requestsPerMinutePerPlatform) {
      // The window frees up when enough of its oldest entries expire: the (n - limit)-th oldest.
      at = (this.times[this.head + n - this.limit.requestsPerMinutePerPlatform] as number) + this.limit.windowMs;
    }
    if (this.limit.minSpacingMs > 0) {
      const last = this.lastDispatchAt;
      if (last !== null) at = Math.max(at, last + this.limit.minSpacingMs);
    }
    return at > now ? at : null;
  }

  /** Records a dispatch at `at` (kept sorted; restored and merged entries may arrive out of order). */
  record(at: number): void {
    const times = this.times;
    let i = times.length;
    while (i > this.head && (times[i - 1] as number) > at) i--;
    if (i === times.length) times.push(at);
    else times.splice(i, 0, at);
    if (this.lastDispatchAt === null || at > this.lastDispatchAt) this.lastDispatchAt = at;
  }

  /** Replaces the recorded dispatches (ascending) by a merged copy. */
  replace(dispatches: readonly number[], lastDispatchAt: number | null): void {
    this.times = [...dispatches];
    this.head = 0;
    this.lastDispatchAt = lastDispatchAt;
  }

  /** Whether a dispatch at exactly `at` is in the window (so a restored in-flight lease is not counted twice). */
  has(at: number): boolean {
    return this.times.indexOf(at, this.head) !== -1;
  }

  /** The recorded dispatches still inside the window, oldest first (what is persisted). */
  dispatches(now: number): number[] {
    this.prune(now);
    return this.times.slice(this.head);
  }
}
