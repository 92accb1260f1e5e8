import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { attemptEndOf, jobBackoffMs } from './attempt-outcome.js';

const NOW = 1_800_000_000_000;

describe('attemptEndOf', () => {
  it('re-queues a policy refusal at its retry_after_ms, never earlier, without counting it', () => {
    const end = attemptEndOf(new ConductorError('rate_limited', 'full', { retry_after_ms: 42_000 }), true, 0, NOW);
    expect(end).toMatchObject({ outcome: 'refused', retryAt: NOW + 42_000, retryAfterMs: 42_000 });
  });

  it('uses the table wait for a refusal without retry_after_ms, and never retries sooner than 250 ms', () => {
    expect(attemptEndOf(new ConductorError('no_tab', 'no tab'), false, 0, NOW)).toMatchObject({ outcome: 'refused', retryAt: NOW + 60_000, retryAfterMs: null });
    expect(attemptEndOf(new ConductorError('rate_limited', 'full', { retry_after_ms: 0 }), true, 0, NOW)).toMatchObject({ retryAt: NOW + 250 });
  });

  it('counts a failure that may pass and backs off from it when the error names no wait', () => {
    expect(attemptEndOf(new ConductorError('upstream_5xx', 'HTTP 500'), true, 2, NOW)).toMatchObject({ outcome: 'failed', retryAt: NOW + jobBackoffMs(3) });
    expect(attemptEndOf(new ConductorError('upstream_429', 'HTTP 429', { retry_after_ms: 90_000 }), true, 0, NOW)).toMatchObject({ outcome: 'failed', retryAt: NOW + 90_000 });
    expect([1, 2, 3, 10].map(jobBackoffMs)).toEqual([5_000, 10_000, 20_000, 600_000]);
  });

  it('counts a link lost after dispatch as an interruption, and refuses one lost before', () => {
    expect(attemptEndOf(new ConductorError('extension_unavailable', 'gone'), true, 0, NOW).outcome).toBe('failed');
    expect(attemptEndOf(new ConductorError('extension_unavailable', 'gone'), false, 0, NOW).outcome).toBe('refused');
  });

  it('fails at once on an error a retry cannot help', () => {
    expect(attemptEndOf(new ConductorError('unknown_platform', 'no such platform'), true, 0, NOW)).toMatchObject({ outcome: 'failed', retryAt: null });
  });
});
