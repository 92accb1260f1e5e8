import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProfiles, ProfileError, type Profile } from './profile.js';

const shipped = JSON.parse(readFileSync(new URL('./profiles.json', import.meta.url), 'utf8')) as { profiles: Profile[] };
const valid = (): Record<string, unknown> => structuredClone(shipped.profiles[0]) as unknown as Record<string, unknown>;

/** The refused paths of a profile file, or [] when it is accepted. */
function refusedPaths(raw: unknown): string[] {
  try {
    parseProfiles(raw);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileError);
    return (err as ProfileError).issues.map((i) => i.path);
  }
}

describe('profile schema', () => {
  it('accepts the shipped profiles (at least the nine the issue lists) and fills defaults', () => {
    const profiles = parseProfiles(shipped);
    expect(profiles.length).toBeGreaterThanOrEqual(9);
    const names = profiles.map((p) => p.name);
    for (const n of ['steady-retry-after', 'steady-no-retry-after', 'burst-50', 'outage', 'five-conversations', 'slow-streams', 'lenient', 'quota-halves', 'usage-cap']) expect(names).toContain(n);
    expect(profiles[0]?.workload.tries).toBe(5);
    expect(parseProfiles([valid()])[0]?.server.capBody).toBe(false);
  });

  it('refuses a malformed field with its path, in either file form', () => {
    const bad = valid();
    (bad['server'] as { bucket: { refill: number } }).bucket.refill = -1;
    expect(refusedPaths({ profiles: [valid(), bad] })).toEqual(['profiles.1.server.bucket.refill']);
    expect(refusedPaths([bad])).toEqual(['0.server.bucket.refill']);
  });

  it('refuses a wrong retryAfter, an unknown key, a missing field and a bad workload kind, each by path', () => {
    const a = valid();
    (a['server'] as Record<string, unknown>)['retryAfter'] = 'sometimes';
    expect(refusedPaths([a])).toEqual(['0.server.retryAfter']);
    const b = valid();
    (b['server'] as Record<string, unknown>)['bukket'] = {};
    expect(refusedPaths([b])).toEqual(['0.server.bukket']);
    const c = valid();
    delete c['horizonMs'];
    expect(refusedPaths([c])).toEqual(['0.horizonMs']);
    const d = valid();
    (d['workload'] as Record<string, unknown>)['kind'] = 'trickle';
    expect(refusedPaths([d])).toEqual(['0.workload.kind']);
  });

  it('refuses an outage that ends before it starts, replyMs out of order and duplicate names', () => {
    const a = valid();
    (a['server'] as Record<string, unknown>)['outages'] = [{ fromMs: 10, toMs: 10, status: 503 }];
    expect(refusedPaths([a])).toEqual(['0.server.outages.0.toMs']);
    const b = valid();
    (b['server'] as Record<string, unknown>)['replyMs'] = [5, 1];
    expect(refusedPaths([b])).toEqual(['0.server.replyMs']);
    expect(refusedPaths([valid(), valid()])).toEqual(['1.name']);
  });

  it('refuses an empty file and a non-object', () => {
    expect(refusedPaths([])).toEqual(['']);
    expect(refusedPaths({ profiles: 'steady' })).toEqual(['profiles']);
  });
});
