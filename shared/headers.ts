import { z } from 'zod';

/** Header names and values as they travel: capped, otherwise free (response headers come from the browser). */
export const HeadersSchema = z.record(z.string().min(1).max(256), z.string().max(16_384));

/** RFC 9110 §5.6.2 token: what a field name is made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * RFC 9110 §5.5 field-value: visible ASCII and obs-text (bytes 0x80-0xFF, which Firefox takes as
 * Latin-1), with spaces and tabs only between them. Empty is allowed.
 */
const FIELD_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/**
 * The Fetch standard's forbidden request-header names, which Firefox enforces: the browser sets
 * these itself (the page's cookies and origin among them), so a relayed request may not.
 */
const FORBIDDEN_NAMES = new Set([
  'accept-charset',
  'accept-encoding',
  'access-control-request-headers',
  'access-control-request-method',
  'access-control-request-private-network',
  'connection',
  'content-length',
  'cookie',
  'cookie2',
  'date',
  'dnt',
  'expect',
  'host',
  'keep-alive',
  'origin',
  'referer',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
]);
const FORBIDDEN_PREFIXES = ['proxy-', 'sec-'];

/** Headers that smuggle a method past the method check; forbidden when they name one of FORBIDDEN_METHODS. */
const METHOD_OVERRIDES = new Set(['x-http-method', 'x-http-method-override', 'x-method-override']);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * Why a request header may not be relayed, or null when it may. The reason never quotes the value,
 * which may be a credential.
 */
export function requestHeaderProblem(name: string, value: string): string | null {
  if (!TOKEN.test(name)) return 'is not a valid header name (RFC 9110 token)';
  const lower = name.toLowerCase();
  if (FORBIDDEN_NAMES.has(lower) || FORBIDDEN_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    return 'may not be set: the browser sets it (the page supplies its own cookies, origin and connection)';
  }
  if (!FIELD_VALUE.test(value)) return 'has an invalid value (RFC 9110 field-value: no control characters, no leading or trailing space, no characters above U+00FF)';
  if (METHOD_OVERRIDES.has(lower) && value.split(',').some((method) => FORBIDDEN_METHODS.has(method.trim().toUpperCase()))) {
    return 'may not name CONNECT, TRACE or TRACK';
  }
  return null;
}

/**
 * The headers of a request to relay, checked by the API and on the native port alike (and by the
 * page proxy): each bad one is an issue at its own name, so bad_payload names it.
 */
export const RequestHeadersSchema = HeadersSchema.superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    const problem = requestHeaderProblem(name, value);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: [name], message: `header ${JSON.stringify(name)} ${problem}` });
  }
});
