import { describe, expect, it } from 'vitest';
import { validatePolicyConfig } from './policy-config.js';

describe('validatePolicyConfig', () => {
  it('accepts the knobs it knows, including per-platform overrides', () => {
    const checked = validatePolicyConfig({ rateLimit: { requestsPerMinutePerPlatform: 4 }, platformRateLimits: { claude: { windowMs: 120_000 } } });
    expect(checked.ok && checked.config.rateLimit.requestsPerMinutePerPlatform).toBe(4);
  });

  it('refuses unknown keys (a typo would otherwise silently run the default), naming each path', () => {
    const checked = validatePolicyConfig({
      ratelimit: { requestsPerMinutePerPlatform: 4 },
      rateLimit: { requestsPerMinute: 4 },
      platformRateLimits: { claude: { requestPerMinutePerPlatform: 2 } },
    });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.issues.map((i) => i.path)).toEqual(['ratelimit', 'rateLimit.requestsPerMinute', 'platformRateLimits.claude.requestPerMinutePerPlatform']);
    expect(checked.message).toContain('rateLimit.requestsPerMinute: unknown key');
  });

  it('reports unknown keys together with out-of-range values, in one go', () => {
    const checked = validatePolicyConfig({ jitter: { muMs: -1, extra: 1 } });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.issues.map((i) => i.path)).toEqual(['jitter.muMs', 'jitter.extra']);
  });
});
