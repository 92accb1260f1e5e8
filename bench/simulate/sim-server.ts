import { HiddenBucket } from './hidden-bucket.js';
import type { ServerSpec } from './profile.js';
import { SIM_EPOCH_MS } from './scheduler.js';

/** An HTTP answer as the page proxy would report it. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request the platform received. */
export interface Received {
  at: number;
  status: number;
}

/** How long a refusal (429, 403, an outage's answer) takes to come back. */
export const REFUSAL_MS = 300;

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Counts of `times` (ascending) inside (t - windowMs, t]. */
function inWindow(times: readonly number[], t: number, windowMs: number): number {
  let n = 0;
  for (let i = times.length - 1; i >= 0 && (times[i] as number) > t - windowMs; i--) n++;
  return n;
}

/**
 * A chat platform with a hidden limit (README "The simulator"): a token bucket, refusals as 429
 * (with or without Retry-After, or a usage-cap JSON body), outages, and an account flag after too
 * many refusals or requests, after which every answer is 403. Time is the caller's (virtual ms).
 */
export class SimServer {
  readonly received: Received[] = [];
  private readonly requestTimes: number[] = [];
  private readonly refusalTimes: number[] = [];
  private readonly bucket: HiddenBucket;
  flaggedAt: number | null = null;
  refusals = 0;

  constructor(
    private readonly spec: ServerSpec,
    private readonly now: () => number,
  ) {
    this.bucket = new HiddenBucket(spec);
  }

  /** Answers a request arriving now whose served reply takes `replyMs`; `afterMs` is when the answer is complete. */
  receive(replyMs: number): { answer: Answer; afterMs: number } {
    const t = this.now();
    const flag = this.spec.flag;
    this.requestTimes.push(t);
    if (this.flaggedAt === null && inWindow(this.requestTimes, t, 60_000) > flag.maxRequestsPer60s) this.flaggedAt = t;
    if (this.flaggedAt !== null) return this.log(t, { status: 403, headers: JSON_HEADERS, body: '{"error":{"type":"account_flagged"}}' }, REFUSAL_MS);
    const outage = this.spec.outages.find((o) => t >= o.fromMs && t < o.toMs);
    if (outage !== undefined) return this.log(t, { status: outage.status, headers: {}, body: '' }, REFUSAL_MS);
    if (this.bucket.take(t)) return this.log(t, { status: 200, headers: JSON_HEADERS, body: '{"ok":true}' }, replyMs);
    return this.refuse(t);
  }

  private refuse(t: number): { answer: Answer; afterMs: number } {
    this.refusals += 1;
    this.refusalTimes.push(t);
    const flag = this.spec.flag;
    if (inWindow(this.refusalTimes, t, flag.windowMs) >= flag.max429InWindow) this.flaggedAt = t;
    const waitMs = this.bucket.msUntilToken(t);
    const headers: Record<string, string> = { ...JSON_HEADERS };
    const ra = this.spec.retryAfter;
    if (ra === 'exact') headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
    else if (ra !== 'none') headers['retry-after'] = String(Math.max(1, Math.ceil(ra.fixedMs / 1000)));
    const body = this.spec.capBody
      ? JSON.stringify({ error: { type: 'usage_limit_reached', message: 'You have reached your usage limit.', limit: this.bucket.capacityAt(t), resets_at: new Date(SIM_EPOCH_MS + t + waitMs).toISOString() } })
      : '{"error":{"type":"rate_limited"}}';
    return this.log(t, { status: 429, headers, body }, REFUSAL_MS);
  }

  private log(at: number, answer: Answer, afterMs: number): { answer: Answer; afterMs: number } {
    this.received.push({ at, status: answer.status });
    return { answer, afterMs };
  }
}
