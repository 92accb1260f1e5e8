import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../shared/errors.js';
import { CLASSIFICATION_TABLE, classifyProxyError, classifyResponse, parseRetryAfterMs } from './classify.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('classifyResponse', () => {
  it('follows the table for each kind of status', () => {
    expect(classifyResponse(200, {}, NOW)).toEqual({ status: 'success', httpStatus: 200 });
    expect(classifyResponse(204, {}, NOW).status).toBe('success');
    expect(classifyResponse(429, {}, NOW)).toEqual({ status: 'failure', httpStatus: 429, code: 'upstream_429', message: 'HTTP 429' });
    expect(classifyResponse(500, {}, NOW)).toMatchObject({ status: 'failure', code: 'upstream_5xx' });
    expect(classifyResponse(502, {}, NOW)).toMatchObject({ status: 'failure', code: 'upstream_5xx' });
    expect(classifyResponse(401, {}, NOW)).toMatchObject({ status: 'failure', code: 'auth_required' });
    expect(classifyResponse(403, {}, NOW)).toMatchObject({ status: 'failure', code: 'auth_required' });
    expect(classifyResponse(404, {}, NOW)).toEqual({ status: 'success', httpStatus: 404 });
    expect(classifyResponse(400, {}, NOW).status).toBe('success');
    expect(classifyResponse(304, {}, NOW).status).toBe('success');
    expect(classifyResponse(101, {}, NOW)).toMatchObject({ status: 'failure', code: 'network_error' });
    expect(classifyResponse(0, {}, NOW)).toMatchObject({ status: 'failure', code: 'network_error' });
  });

  it('reads Retry-After on 429 and 503 (any header case), not on other statuses', () => {
    expect(classifyResponse(429, { 'Retry-After': '30' }, NOW).retryAfterMs).toBe(30_000);
    expect(classifyResponse(503, { 'retry-after': '7' }, NOW).retryAfterMs).toBe(7_000);
    expect(classifyResponse(500, { 'retry-after': '7' }, NOW).retryAfterMs).toBeUndefined();
    expect(classifyResponse(200, { 'retry-after': '7' }, NOW).retryAfterMs).toBeUndefined();
  });
});

describe('parseRetryAfterMs', () => {
  it('parses delta seconds and every HTTP-date form relative to now', () => {
    expect(parseRetryAfterMs(' 120 ', NOW)).toBe(120_000);
    expect(parseRetryAfterMs('Wed, 01 Jan 2025 12:01:30 GMT', NOW)).toBe(90_000);
    expect(parseRetryAfterMs('Wednesday, 01-Jan-25 12:00:10 GMT', NOW)).toBe(10_000);
    expect(parseRetryAfterMs('Wed Jan  1 12:00:05 2025', NOW)).toBe(5_000);
  });

  it('ignores garbage, zero and moments already past', () => {
    for (const junk of [undefined, '', 'soon', '5 minutes', '-5', '1.5', '0', 'Wed, 01 Jan 2025 11:00:00 GMT', '2025-01-01T13:00:00Z', '99999999999']) {
      expect(parseRetryAfterMs(junk, NOW)).toBeUndefined();
    }
  });
});

describe('classifyProxyError', () => {
  it('counts transport failures, and neither cancellation nor a refused path', () => {
    expect(classifyProxyError('network_error')).toMatchObject({ status: 'failure', code: 'network_error' });
    expect(classifyProxyError('upstream_timeout')).toMatchObject({ status: 'failure', code: 'upstream_timeout' });
    expect(classifyProxyError('stream_error')).toMatchObject({ status: 'failure', code: 'stream_error' });
    expect(classifyProxyError('cancelled')).toMatchObject({ status: 'cancelled', code: 'cancelled' });
    expect(classifyProxyError('bad_path')).toMatchObject({ status: 'cancelled', code: 'bad_path' });
    expect(classifyProxyError('cross_origin_redirect')).toMatchObject({ status: 'cancelled', code: 'cross_origin_redirect' });
  });
});

describe('CLASSIFICATION_TABLE', () => {
  it('uses only codes from the closed error table, and every row is reachable', () => {
    for (const row of CLASSIFICATION_TABLE) {
      if (row.code !== null) expect(ERROR_CODES).toContain(row.code);
      const got = row.proxyError !== null ? classifyProxyError(row.proxyError) : classifyResponse((row.statuses[0] as [number, number])[0], {}, NOW);
      expect({ when: row.when, status: got.status, code: got.code ?? null }).toEqual({ when: row.when, status: row.outcome, code: row.code });
    }
  });
});
