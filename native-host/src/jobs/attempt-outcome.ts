import { type ConductorError, type ErrorCode } from '../../../shared/errors.js';
import { retryAfterMs } from '../api/http-errors.js';
import type { AttemptEnd } from '../store/job-store.js';

/**
 * How a failed attempt counts, by error code. `refused`: the policy (or the browser) held it back
 * and nothing reached the platform, so it does not use up max_attempts; `retry`: it may have
 * reached the platform, counts, and is tried again. A code not listed is fatal: the job fails at
 * once, since sending the same request again cannot help (bad_payload, unknown_platform, …).
 * `waitMs` is the wait when the error carries no retry_after_ms (null: the job's backoff).
 */
export const ATTEMPT_ERROR_TABLE: Partial<Record<ErrorCode, { kind: 'refused' | 'retry'; waitMs: number | null; why: string }>> = {
  rate_limited: { kind: 'refused', waitMs: 30_000, why: 'The platform window is full; the refusal says when it frees.' },
  backoff_active: { kind: 'refused', waitMs: 30_000, why: 'The target backs off after a failure; the refusal says until when.' },
  circuit_open: { kind: 'refused', waitMs: 60_000, why: 'The circuit is open; it says when it half-opens.' },
  circuit_half_open_busy: { kind: 'refused', waitMs: 10_000, why: 'Another request is the probe; wait for it.' },
  waiter_timeout: { kind: 'refused', waitMs: 30_000, why: 'Waited for a slot too long; try again later.' },
  paused: { kind: 'refused', waitMs: 30_000, why: 'All dispatch is paused; the dispatcher stops and looks again.' },
  no_tab: { kind: 'refused', waitMs: 60_000, why: 'No logged-in tab: nothing was sent; try when one is open.' },
  extension_unavailable: { kind: 'refused', waitMs: 15_000, why: 'No add-on: nothing was sent (a link lost mid-attempt counts, see below).' },
  upstream_429: { kind: 'retry', waitMs: null, why: 'The platform rate-limited the request; its Retry-After wins.' },
  upstream_5xx: { kind: 'retry', waitMs: null, why: 'A server error may pass.' },
  network_error: { kind: 'retry', waitMs: null, why: 'The connection may come back.' },
  upstream_timeout: { kind: 'retry', waitMs: null, why: 'The platform may answer next time.' },
  stream_error: { kind: 'retry', waitMs: null, why: 'The stream broke off; a new attempt gets the whole answer.' },
  lease_reclaimed: { kind: 'retry', waitMs: null, why: 'The lease went stale; its outcome is unknown.' },
  timeout: { kind: 'retry', waitMs: null, why: 'The add-on did not answer in time.' },
  interrupted: { kind: 'retry', waitMs: null, why: 'The browser or host stopped mid-attempt.' },
  auth_required: { kind: 'retry', waitMs: null, why: 'Logged out: the circuit holds further attempts until the user logs in.' },
  cancelled: { kind: 'retry', waitMs: null, why: 'The add-on cancelled the attempt (not the job\'s caller: that cancel ends the job first).' },
};

/** The shortest wait before a next attempt, so a refusal with retry_after_ms 0 cannot spin the dispatcher. */
const MIN_RETRY_WAIT_MS = 250;

/** The wait before a counted attempt's retry when the error names none: 5 s doubling, at most 10 min. */
export function jobBackoffMs(countedAttempts: number): number {
  return Math.min(10 * 60_000, 5_000 * 2 ** Math.max(0, countedAttempts - 1));
}

/**
 * What an attempt's error means for its job. A link lost after the request went to the add-on
 * counts like an interruption (the platform may have seen it). The next attempt is never earlier
 * than the error's retry_after_ms.
 */
export function attemptEndOf(error: ConductorError, dispatched: boolean, countedBefore: number, now: number): AttemptEnd {
  const row = error.code === 'extension_unavailable' && dispatched ? ATTEMPT_ERROR_TABLE.interrupted : ATTEMPT_ERROR_TABLE[error.code];
  const after = retryAfterMs(error) ?? null;
  if (row === undefined) return { outcome: 'failed', error, retryAt: null, retryAfterMs: after };
  const counted = countedBefore + (row.kind === 'retry' ? 1 : 0);
  const wait = Math.max(MIN_RETRY_WAIT_MS, after ?? row.waitMs ?? jobBackoffMs(counted));
  return { outcome: row.kind === 'refused' ? 'refused' : 'failed', error, retryAt: now + wait, retryAfterMs: after === null ? null : Math.round(after) };
}
