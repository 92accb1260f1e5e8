import type { ErrorCode } from '../../../shared/errors.js';
import type { ProxyErrorSchema } from '../../../shared/extension-messages.js';
import type { z } from 'zod';
import type { LeaseOutcome } from './types.js';

/** The codes a page proxy reports when a fetch produced no (complete) answer. */
export type ProxyErrorCode = z.infer<typeof ProxyErrorSchema>['code'];

/** One row of the classification table: which answers it matches and what the lease records. */
export interface ClassificationRow {
  /** The answer, as the README shows it. */
  when: string;
  /** HTTP statuses matched (inclusive ranges); empty for proxy errors. */
  statuses: readonly (readonly [number, number])[];
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

/** Classifies an HTTP answer the page received, per CLASSIFICATION_TABLE. */
export function classifyResponse(status: number, headers: Record<string, string>, nowMs: number): LeaseOutcome {
  const row = HTTP_ROWS.find((r) => r.statuses.some(([lo, hi]) => status >= lo && status <= hi)) ?? FALLBACK;
  const outcome: LeaseOutcome = { status: row.outcome, httpStatus: status };
  if (row.code !== null) {
    outcome.code = row.code;
    outcome.message = `HTTP ${status}`;
  }
  if (row.retryAfter) {
    const retryAfterMs = parseRetryAfterMs(headerValue(headers, 'retry-after'), nowMs);
    if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
  }
  return outcome;
}

/** Classifies a page-proxy error (no complete answer), per CLASSIFICATION_TABLE. */
export function classifyProxyError(code: ProxyErrorCode): LeaseOutcome {
  const row = CLASSIFICATION_TABLE.find((r) => r.proxyError === code) as ClassificationRow;
  return { status: row.outcome, code: row.code ?? code, message: row.why };
}
