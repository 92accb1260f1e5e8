import { describe, expect, it } from 'vitest';
import { ApiErrorResponseSchema } from '../../../shared/api.js';
import { ConductorError, ERROR_CODES, ERROR_TABLE } from '../../../shared/errors.js';
import { toHttpError } from './http-errors.js';

describe('toHttpError', () => {
  it('answers every error code with the status of its row in the error table', () => {
    for (const code of ERROR_CODES) {
      const answer = toHttpError(new ConductorError(code, `m-${code}`));
      expect(answer.status, code).toBe(ERROR_TABLE[code].http);
      expect(ApiErrorResponseSchema.parse(answer.body).error).toEqual({ code, message: `m-${code}` });
    }
  });

  it('sends Retry-After in whole seconds (rounded up) on 429 and 503 with retry_after_ms', () => {
    const limited = toHttpError(new ConductorError('rate_limited', 'full', { retry_after_ms: 1_200 }));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.body.error.retry_after_ms).toBe(1_200);
    expect(limited.body.error.details).toEqual({ retry_after_ms: 1_200 });
    expect(toHttpError(new ConductorError('paused', 'paused', { retry_after_ms: 10 })).headers['retry-after']).toBe('1');
  });

  it('sends no Retry-After without a wait, nor on statuses that do not take one', () => {
    expect(toHttpError(new ConductorError('circuit_open', 'open')).headers).toEqual({});
    expect(toHttpError(new ConductorError('upstream_5xx', 'boom', { retry_after_ms: 5_000 })).headers).toEqual({});
  });

  it('turns any other thrown value into a 500 internal_error that repeats nothing of it', () => {
    const answer = toHttpError(new Error('token=abc cookie=def'));
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe('internal_error');
    expect(JSON.stringify(answer.body)).not.toMatch(/abc|def/);
  });
});
