import type { Bucket, ServerSpec } from './profile.js';

type Change = Bucket & { atMs: number };

/** Tokens within this of a whole one count as whole (float drift of the continuous refill). */
const EPSILON = 1e-9;

/**
 * The platform's hidden limit: a token bucket refilled continuously (`refill` per `periodMs`),
 * starting full, whose capacity and refill change at each quota change (the tokens kept, cut to the
 * new capacity). The simulated server and the oracle both read it, so they agree on the limit.
 */
export class HiddenBucket {
  private tokens: number;
  private at = 0;
  private spec: Bucket;
  private next = 0;
  private readonly changes: Change[];

  constructor(server: Pick<ServerSpec, 'bucket' | 'quotaChanges'>) {
    this.spec = server.bucket;
    this.tokens = server.bucket.capacity;
    this.changes = [...server.quotaChanges].sort((a, b) => a.atMs - b.atMs);
  }

  /** Refills up to `t` (ms, not before the last call), applying the quota changes on the way. */
  private advance(t: number): void {
    while (this.next < this.changes.length && (this.changes[this.next] as Change).atMs <= t) {
      const change = this.changes[this.next++] as Change;
      this.fill(Math.max(this.at, change.atMs));
      this.spec = change;
      this.tokens = Math.min(this.tokens, change.capacity);
    }
    this.fill(t);
  }

  private fill(t: number): void {
    if (t <= this.at) return;
    this.tokens = Math.min(this.spec.capacity, this.tokens + ((t - this.at) * this.spec.refill) / this.spec.periodMs);
    this.at = t;
  }

  /** The capacity in force at `t`: what a usage-cap answer names as the limit. */
  capacityAt(t: number): number {
    this.advance(t);
    return this.spec.capacity;
  }

  /** Takes a token at `t` if one is there; false (nothing taken) otherwise. */
  take(t: number): boolean {
    this.advance(t);
    if (this.tokens < 1 - EPSILON) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Ms from `t` until a whole token is there (0 if now), across the known quota changes. */
  msUntilToken(t: number): number {
    this.advance(t);
    let tokens = this.tokens;
    if (tokens >= 1 - EPSILON) return 0;
    let spec = this.spec;
    let time = t;
    for (let i = this.next; ; i++) {
      const dt = ((1 - tokens) * spec.periodMs) / spec.refill;
      const change = this.changes[i];
      if (change === undefined || change.atMs >= time + dt) return time + dt - t;
      tokens = Math.min(change.capacity, tokens + ((change.atMs - time) * spec.refill) / spec.periodMs);
      time = change.atMs;
      spec = change;
      if (tokens >= 1 - EPSILON) return time - t;
    }
  }
}

/** The hidden limit's sustained rate at `t`, in requests per minute (what the charts draw). */
export function limitPerMinuteAt(server: Pick<ServerSpec, 'bucket' | 'quotaChanges'>, t: number): number {
  let spec: Bucket = server.bucket;
  for (const c of [...server.quotaChanges].sort((a, b) => a.atMs - b.atMs)) if (c.atMs <= t) spec = c;
  return (spec.refill * 60_000) / spec.periodMs;
}
