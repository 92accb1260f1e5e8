import { freshAccountFields, freshPace, MAX_CLIENTS, POLICY_STATE_VERSION, type AccountFields, type PaceState, type PersistedAccount } from '../../../shared/policy-state.js';
import type { Account } from '../../../shared/platforms.js';
import type { AccountSnapshot } from '../../../shared/status.js';
import { paceNextAt } from './pace.js';
import type { RateWindow } from './rate-window.js';
import type { PendingAdmission } from './target-state.js';

/** How many recent lease durations an account keeps to predict how long a probe takes. */
const DURATIONS_KEPT = 8;

/**
 * One account's live state (a platform through one container): its window, holds, circuit and
 * learned pace, and the line of callers that hold their target's slot, in arrival order. Only the
 * first of the line may dispatch next, so the account serves its targets fairly and a hold wakes
 * one caller, not a herd.
 */
export class AccountState {
  readonly account: Account;
  fields: AccountFields = freshAccountFields();
  pace: PaceState = freshPace();
  /** The request id of the half-open probe (pending or leased), if any. */
  probe: string | null = null;
  /** Callers past their target's concurrency stage, by arrival (seq); the first one is served. */
  readonly line: PendingAdmission[] = [];
  /** The client ids that used this account (shown under it). */
  readonly clients = new Set<string>();
  /** Leases out through this account. */
  inFlight = 0;
  /** Recent lease durations (ms, monotonic), newest last. */
  private readonly durations: number[] = [];
  serving = false;
  /** Changed since the last save (the persistence writer's flag). */
  dirty = false;

  constructor(
    readonly key: string,
    account: Account,
    readonly window: RateWindow,
  ) {
    this.account = { platform: account.platform, container: account.container };
  }

  /** When the account lets its next dispatch go (backoff, window, pace): null if now. */
  nextAt(now: number): number | null {
    let at = this.window.nextSlotAt(now) ?? now;
    const until = this.fields.backoffUntil;
    if (until !== null && until > at) at = until;
    const paced = paceNextAt(this.pace, this.window.lastDispatchAt, now);
    if (paced !== null && paced > at) at = paced;
    return at > now ? at : null;
  }

  /** Puts a caller in line by arrival. */
  enter(p: PendingAdmission): void {
    let i = this.line.length;
    while (i > 0 && (this.line[i - 1] as PendingAdmission).seq > p.seq) i--;
    this.line.splice(i, 0, p);
  }

  /** Takes a caller out of the line; false if it was not there. */
  leave(p: PendingAdmission): boolean {
    const i = this.line.indexOf(p);
    if (i === -1) return false;
    this.line.splice(i, 1);
    return true;
  }

  /** Notes how long a lease took. */
  took(ms: number): void {
    this.durations.push(ms);
    if (this.durations.length > DURATIONS_KEPT) this.durations.shift();
  }

  /** The median of the recent lease durations, or null when none finished yet. */
  typicalDurationMs(): number | null {
    if (this.durations.length === 0) return null;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  }

  /** The persisted form at `now`. */
  toRow(now: number): PersistedAccount {
    return {
      version: POLICY_STATE_VERSION,
      platform: this.account.platform,
      container: this.account.container,
      dispatches: this.window.dispatches(now),
      lastDispatchAt: this.window.lastDispatchAt,
      ...this.fields,
      pace: { ...this.pace, successAt: [...this.pace.successAt] },
      clients: [...this.clients].slice(-MAX_CLIENTS),
      updatedAt: now,
    };
  }

  /** The live view for the popup and the status API. */
  toSnapshot(now: number): AccountSnapshot {
    const { lastBackoffMs: _internal, ...fields } = this.fields;
    return {
      platform: this.account.platform,
      container: this.account.container,
      ...fields,
      recentDispatchCount: this.window.count(now),
      limit: this.window.limit.requestsPerMinutePerPlatform,
      windowMs: this.window.limit.windowMs,
      nextSlotAt: this.nextAt(now),
      pace: { intervalMs: this.pace.intervalMs, pinned: this.pace.pinnedMs !== null, lastCutAt: this.pace.lastCutAt, lastCutReason: this.pace.lastCutReason },
      inFlight: this.inFlight,
      waiting: this.line.length,
      clients: [...this.clients].sort(),
    };
  }
}
