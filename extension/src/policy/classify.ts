import type { ErrorCode } from '../../../shared/errors.js';
import type { ProxyErrorSchema } from '../../../shared/extension-messages.js';
import type { z } from 'zod';
import type { LeaseOutcome } from './types.js';

/** The codes a page proxy reports when a fetch produced no (complete) answer. */
export type ProxyErrorCode = z.infer<typeof ProxyErrorSchema>['code'];

/** How a usage-cap answer is recognised in its body and where it says when the cap resets. */
export interface UsageCapSignal {
  /** The platforms whose bodies use this wording; null: any platform. */
  platforms: readonly string[] | null;
  /** Matched against the body's text (its first 64 KiB). */
  body: RegExp;
  /**
   * JSON keys holding the reset, searched at any depth: an ISO date, epoch seconds or ms
   * (`resets_at`, `resetsAt`), or seconds from now (`clears_in`, `retry_after`).
   */
  resetKeys: readonly string[];
  secondsKeys: readonly string[];
}

/** One row of the classification table: which answers it matches and what the lease records. */
export interface ClassificationRow {
  /** The answer, as the README shows it. */
  when: string;
  /** HTTP statuses matched (inclusive ranges); empty for proxy errors. */
  statuses: readonly (readonly [number, number])[];
  /** A usage-cap body this row requires (the row matches only answers whose body shows it). */
  usageCap?: UsageCapSignal;
  /** The page-proxy error matched, if this row is one. */
  proxyError: ProxyErrorCode | null;
  outcome: LeaseOutcome['status'];
  code: ErrorCode | null;
  /** Whether a Retry-After header is honoured. */
  retryAfter: boolean;
  why: string;
}

/**
 * How an answer counts for the breaker and backoff, first matching row wins. It is data so the
 * README renders the same table the code runs.
 */
export const CLASSIFICATION_TABLE: readonly ClassificationRow[] = [
  {
    when: 'Claude usage cap (HTTP 429, body "exceeded_limit" with resetsAt)',
    statuses: [[429, 429]],
    usageCap: { platforms: ['claude'], body: /exceeded_limit|usage limit/i, resetKeys: ['resetsAt', 'resets_at'], secondsKeys: [] },
    proxyError: null,
    outcome: 'failure',
    code: 'usage_cap',
    retryAfter: true,
    why: 'The account used up its allowance: held at account scope until the reset time the body names (or Retry-After, the later).',
  },
  {
    when: 'ChatGPT usage cap (HTTP 429, body "model_cap_exceeded" with clears_in)',
    statuses: [[429, 429]],
    usageCap: { platforms: ['chatgpt'], body: /model_cap_exceeded|usage cap|usage limit/i, resetKeys: ['resets_at', 'reset_at'], secondsKeys: ['clears_in'] },
    proxyError: null,
    outcome: 'failure',
    code: 'usage_cap',
    retryAfter: true,
    why: 'As above, in ChatGPT\'s words.',
  },
  {
    when: 'Any platform: HTTP 4xx with a body "usage limit reached … resets_at"',
    statuses: [[400, 499]],
    usageCap: { platforms: null, body: /usage[ _]limit[ _]reached|usage[ _]cap|quota[ _]exceeded/i, resetKeys: ['resets_at', 'resetsAt', 'reset_at'], secondsKeys: ['retry_after', 'clears_in'] },
    proxyError: null,
    outcome: 'failure',
    code: 'usage_cap',
    retryAfter: true,
    why: 'Chat platforms often say it in the body rather than the status: a throttle all the same, honoured at account scope (a 2xx body is the answer itself, never read).',
  },
  { when: 'HTTP 2xx', statuses: [[200, 299]], proxyError: null, outcome: 'success', code: null, retryAfter: false, why: 'Served.' },
  { when: 'HTTP 429', statuses: [[429, 429]], proxyError: null, outcome: 'failure', code: 'upstream_429', retryAfter: true, why: 'The platform rate-limited us; its Retry-After wins over a shorter backoff.' },
  { when: 'HTTP 401, 403', statuses: [[401, 401], [403, 403]], proxyError: null, outcome: 'failure', code: 'auth_required', retryAfter: false, why: 'Logged out: retrying will not help, so the breaker should open.' },
  { when: 'HTTP 503', statuses: [[503, 503]], proxyError: null, outcome: 'failure', code: 'upstream_5xx', retryAfter: true, why: 'Server overloaded; a 503 may carry Retry-After too.' },
  { when: 'HTTP 5xx (other)', statuses: [[500, 599]], proxyError: null, outcome: 'failure', code: 'upstream_5xx', retryAfter: false, why: 'Server error.' },
  { when: 'HTTP 3xx, other 4xx', statuses: [[300, 399], [400, 499]], proxyError: null, outcome: 'success', code: null, retryAfter: false, why: 'Served: the platform answered; the caller still sees the status (a bad request is not the platform failing).' },
  { when: 'HTTP 1xx or no usable status', statuses: [[0, 199], [600, 999]], proxyError: null, outcome: 'failure', code: 'network_error', retryAfter: false, why: 'No final answer reached the page.' },
  { when: 'proxy network_error', statuses: [], proxyError: 'network_error', outcome: 'failure', code: 'network_error', retryAfter: false, why: 'Offline, DNS, connection reset.' },
  { when: 'proxy upstream_timeout', statuses: [], proxyError: 'upstream_timeout', outcome: 'failure', code: 'upstream_timeout', retryAfter: false, why: 'No answer, or the stream went idle, in time.' },
  { when: 'proxy stream_error', statuses: [], proxyError: 'stream_error', outcome: 'failure', code: 'stream_error', retryAfter: false, why: 'The stream broke off midway.' },
  { when: 'proxy cancelled', statuses: [], proxyError: 'cancelled', outcome: 'cancelled', code: 'cancelled', retryAfter: false, why: 'The caller aborted: counts neither way, frees the slot.' },
  {
    when: 'proxy bad_path',
    statuses: [],
    proxyError: 'bad_path',
    outcome: 'cancelled',
    code: 'bad_path',
    retryAfter: false,
    why: 'Refused by the page before any fetch: nothing reached the platform, so it counts neither way (the dispatch stays in the window: stricter).',
  },
  { when: 'proxy cross_origin_redirect', statuses: [], proxyError: 'cross_origin_redirect', outcome: 'cancelled', code: 'cross_origin_redirect', retryAfter: false, why: 'The platform answered with a redirect the page does not follow: not a failure of the platform, not a served request.' },
];

const HTTP_ROWS = CLASSIFICATION_TABLE.filter((r) => r.proxyError === null);
const FALLBACK = HTTP_ROWS[HTTP_ROWS.length - 1] as ClassificationRow;
/** How much of a body the usage-cap signals look at: caps are short JSON answers. */
const CAP_BODY_MAX_CHARS = 65_536;

/** The codes that tell the account to slow down: they cut its pace (the rest back off). */
const THROTTLE_CODES: ReadonlySet<string> = new Set<ErrorCode>(['upstream_429', 'usage_cap']);

/** Whether a failure's code is a throttle (the platform says: too many, too fast). */
export function isThrottle(code: string): boolean {
  return THROTTLE_CODES.has(code);
}

const DELTA_SECONDS = /^\s*(\d{1,10})\s*$/;
// RFC 9110 §5.6.7 HTTP-date: IMF-fixdate, obsolete RFC 850, asctime (which carries no zone: GMT).
const IMF_FIXDATE = /^\s*[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\s*$/;
const RFC_850 = /^\s*[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT\s*$/;
const ASCTIME = /^\s*[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}\s*$/;

/**
 * Parses a Retry-After value (delta seconds, or an HTTP date taken relative to `nowMs`) into ms;
 * undefined for garbage or a moment already past.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const delta = DELTA_SECONDS.exec(value);
  if (delta !== null) {
    const ms = Number(delta[1]) * 1000;
    return ms > 0 ? ms : undefined;
  }
  let at = Number.NaN;
  if (IMF_FIXDATE.test(value) || RFC_850.test(value)) at = Date.parse(value);
  else if (ASCTIME.test(value)) at = Date.parse(`${value.trim()} GMT`);
  if (!Number.isFinite(at) || at <= nowMs) return undefined;
  return at - nowMs;
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** A JSON value at any depth under one of `keys` (a body's cap may sit in `error`, `detail`, …). */
function findKey(value: unknown, keys: readonly string[], depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 4) return undefined;
  for (const [k, v] of Object.entries(value)) if (keys.includes(k)) return v;
  for (const v of Object.values(value)) {
    const found = findKey(v, keys, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A reset moment as ms from now: an ISO date, epoch seconds or ms; undefined when unreadable or past. */
function resetInMs(value: unknown, nowMs: number): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  // Below 10^12 an epoch is in seconds (10^12 ms is 2001).
  const at = Number.isFinite(n) ? (n < 1e12 ? n * 1000 : n) : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at) || at <= nowMs) return undefined;
  return at - nowMs;
}

/** When a usage-cap body says the cap resets, in ms from now; undefined when it says nothing usable. */
function capResetMs(signal: UsageCapSignal, body: string, nowMs: number): number | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const reset = resetInMs(findKey(json, signal.resetKeys), nowMs);
  if (reset !== undefined) return reset;
  const seconds = findKey(json, signal.secondsKeys);
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/** Whether a row matches an answer: its status, and its usage-cap body on its platforms. */
function rowMatches(r: ClassificationRow, status: number, platform: string | undefined, body: string | null): boolean {
  if (!r.statuses.some(([lo, hi]) => status >= lo && status <= hi)) return false;
  const cap = r.usageCap;
  if (cap === undefined) return true;
  if (body === null || (cap.platforms !== null && (platform === undefined || !cap.platforms.includes(platform)))) return false;
  return cap.body.test(body.length > CAP_BODY_MAX_CHARS ? body.slice(0, CAP_BODY_MAX_CHARS) : body);
}

/**
 * Classifies an HTTP answer the page received, per CLASSIFICATION_TABLE. `body` (null when
 * streamed) and `platform` let a platform's usage-cap answer count as a throttle, its reset time
 * taken as the hint when later than Retry-After.
 */
export function classifyResponse(status: number, headers: Record<string, string>, nowMs: number, body: string | null = null, platform?: string): LeaseOutcome {
  const row = HTTP_ROWS.find((r) => rowMatches(r, status, platform, body)) ?? FALLBACK;
  const outcome: LeaseOutcome = { status: row.outcome, httpStatus: status };
  if (row.code !== null) {
    outcome.code = row.code;
    outcome.message = row.usageCap === undefined ? `HTTP ${status}` : `HTTP ${status}: usage cap reached`;
  }
  if (row.retryAfter) {
    const fromHeader = parseRetryAfterMs(headerValue(headers, 'retry-after'), nowMs);
    const fromBody = row.usageCap === undefined || body === null ? undefined : capResetMs(row.usageCap, body, nowMs);
    const retryAfterMs = fromHeader === undefined ? fromBody : fromBody === undefined ? fromHeader : Math.max(fromHeader, fromBody);
    if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
  }
  return outcome;
}

/** Classifies a page-proxy error (no complete answer), per CLASSIFICATION_TABLE. */
export function classifyProxyError(code: ProxyErrorCode): LeaseOutcome {
  const row = CLASSIFICATION_TABLE.find((r) => r.proxyError === code) as ClassificationRow;
  return { status: row.outcome, code: row.code ?? code, message: row.why };
}
