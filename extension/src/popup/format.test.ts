import { describe, expect, it } from 'vitest';
import { circuitWords, errorAdvice, formatAgo, formatCountdown, formatDuration, hostReasonHint, plural } from './format.js';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1s'],
    [999, '1s'],
    [12_000, '12s'],
    [59_001, '1m 0s'],
    [252_000, '4m 12s'],
    [3_780_000, '1h 3m'],
    [(2 * 24 + 5) * 3_600_000, '2d 5h'],
    [-5, '0s'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatAgo / formatCountdown', () => {
  const now = 1_700_000_000_000;

  it('says how long ago, or in how long for a future time', () => {
    expect(formatAgo(now, now)).toBe('just now');
    expect(formatAgo(now - 12_400, now)).toBe('12s ago');
    expect(formatAgo(now - 252_000, now)).toBe('4m 12s ago');
    expect(formatAgo(now + 3_000, now)).toBe('in 3s');
  });

  it('counts down to a deadline, then says it is due', () => {
    expect(formatCountdown('retry in', now + 252_000, now, 'retry due')).toBe('retry in 4m 12s');
    expect(formatCountdown('retry in', now, now, 'retry due')).toBe('retry due');
  });
});

describe('words', () => {
  it('names circuit states as the badge shows them', () => {
    expect([circuitWords('closed'), circuitWords('half_open'), circuitWords('open')]).toEqual(['closed', 'half-open', 'open']);
  });

  it('turns Firefox’s missing-host reason into the fix', () => {
    expect(hostReasonHint('No such native application conductor_fx')).toBe('host not registered: run npm run install-host');
    expect(hostReasonHint('An unexpected error occurred')).toBeNull();
    expect(hostReasonHint(null)).toBeNull();
  });

  it('advises logging in only for auth_required', () => {
    expect(errorAdvice('auth_required', 'claude')).toBe('log in to claude');
    expect(errorAdvice('upstream_5xx', 'claude')).toBeNull();
  });

  it('pluralises', () => {
    expect(plural(1, 'tab')).toBe('1 tab');
    expect(plural(3, 'tab')).toBe('3 tabs');
  });
});
