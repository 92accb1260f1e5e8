import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../../shared/policy-config.js';
import { freshAccountFields, freshFields, freshPace } from '../../../shared/policy-state.js';
import { clampAccount, clampTarget, migrateEntry, restoreState } from './restore.js';
import { storedAccount, storedTarget } from './test-persistence.js';

const cfg = DEFAULT_POLICY_CONFIG;
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;

function recorder() {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return { warnings, log: { warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, fields }) } };
}

/** A target row as version 1 (one window per platform, holds on the target) wrote it. */
function v1Target(over: Record<string, unknown> = {}): Record<string, unknown> {
  const { version: _v, ...fields } = storedTarget({ updatedAt: NOW - 10 });
  return { ...fields, version: 1, circuitState: 'closed', consecutiveFailures: 0, trips: 0, circuitRetryAt: null, backoffUntil: null, lastBackoffMs: 0, ...over };
}

describe('restoreState', () => {
  it('keeps valid entries and drops corrupt ones with a warning naming the field', () => {
    const { warnings, log } = recorder();
    const good = storedTarget({ clientId: 'a' });
    const restored = restoreState(
      {
        targets: [good, { ...storedTarget({ clientId: 'b' }), staleSweepCount: -1 }, 'garbage', null],
        accounts: [storedAccount(), { ...storedAccount(), platform: 'BAD PLATFORM' }],
        system: { version: 2, paused: 'yes' },
      },
      cfg,
      NOW,
      log,
    );
    expect(restored.targets.map((t) => t.clientId)).toEqual(['a']);
    expect(restored.accounts.map((a) => a.platform)).toEqual(['claude']);
    expect(restored.system).toBeNull();
    expect(warnings).toHaveLength(5);
    expect(warnings[0]?.fields).toMatchObject({ kind: 'target', index: 1, issues: [{ path: 'staleSweepCount' }] });
    expect(warnings[1]?.fields).toMatchObject({ kind: 'target', index: 2, reason: 'not an object' });
  });

  it('falls back to the defaults, with a warning, when the whole state is unreadable', () => {
    const { warnings, log } = recorder();
    expect(restoreState({ targets: 'nope' }, cfg, NOW, log)).toEqual({ targets: [], accounts: [], system: null });
    expect(restoreState(undefined, cfg, NOW, log)).toEqual({ targets: [], accounts: [], system: null });
    expect(warnings).toHaveLength(2);
  });

  it('restores the system switches, migrating a version-1 row', () => {
    const system = { version: 2 as const, paused: true, pauseReason: 'captcha', pausedAt: NOW - 5, updatedAt: NOW - 5 };
    expect(restoreState({ targets: [], system }, cfg, NOW).system).toEqual(system);
    expect(restoreState({ targets: [], system: { ...system, version: 1 } }, cfg, NOW).system).toEqual(system);
  });

  it('loads version-1 rows: a platform window and the holds of its targets become the default-container account', () => {
    const restored = restoreState(
      {
        targets: [
          v1Target({ clientId: 'a', circuitState: 'open', circuitRetryAt: NOW + 60_000, consecutiveFailures: 3, trips: 1, inFlight: [{ requestId: 'r', admittedAt: NOW - 5, lastActivityAt: NOW - 5, probe: false }] }),
          v1Target({ clientId: 'b', backoffUntil: NOW + 9_000, lastBackoffMs: 4_000 }),
        ],
        platforms: [{ version: 1, platform: 'claude', dispatches: [NOW - 2_000, NOW - 1_000], lastDispatchAt: NOW - 1_000, updatedAt: NOW - 1_000 }],
        system: null,
      },
      cfg,
      NOW,
    );
    expect(restored.targets.map((t) => [t.clientId, t.version, t.inFlight])).toEqual([
      ['a', 2, [{ requestId: 'r', container: 'firefox-default', admittedAt: NOW - 5, lastActivityAt: NOW - 5, probe: false }]],
      ['b', 2, []],
    ]);
    expect(restored.targets[0]).not.toHaveProperty('circuitState');
    expect(restored.accounts).toHaveLength(1);
    expect(restored.accounts[0]).toMatchObject({
      version: 2,
      platform: 'claude',
      container: 'firefox-default',
      dispatches: [NOW - 2_000, NOW - 1_000],
      circuitState: 'open',
      circuitRetryAt: NOW + 60_000,
      consecutiveFailures: 3,
      backoffUntil: NOW + 9_000,
      pace: freshPace(),
    });
  });
});

describe('migrateEntry', () => {
  it('accepts the current version, migrates older ones per kind, and refuses newer, missing or unmigratable ones', () => {
    expect(migrateEntry('system', { version: 2, x: 1 })).toEqual({ ok: true, entry: { version: 2, x: 1 } });
    expect(migrateEntry('account', { version: 1, platform: 'claude' })).toEqual({ ok: true, entry: { ...freshAccountFields(), clients: [], version: 2, platform: 'claude', container: 'firefox-default', pace: freshPace() } });
    expect(migrateEntry('target', { version: 3 })).toEqual({ ok: false, reason: 'version 3 is newer than 2' });
    expect(migrateEntry('target', {})).toEqual({ ok: false, reason: 'no version' });
    expect(migrateEntry('target', { version: 0 })).toEqual({ ok: false, reason: 'no migration from version 0' });
    expect(migrateEntry('target', [1])).toEqual({ ok: false, reason: 'not an object' });
  });
});

describe('clampTarget', () => {
  it('pulls in-flight times from the future back to now', () => {
    const t = clampTarget(storedTarget({ inFlight: [{ requestId: 'r', container: 'c1', admittedAt: NOW + 50, lastActivityAt: NOW + 60, probe: false }] }), NOW);
    expect(t.inFlight).toEqual([{ requestId: 'r', container: 'c1', admittedAt: NOW, lastActivityAt: NOW, probe: false }]);
    expect(clampTarget(storedTarget(), NOW)).toEqual({ ...storedTarget(), ...freshFields() });
  });
});

describe('clampAccount', () => {
  it('restores a half-open circuit as open and due now (its probe died with the process)', () => {
    const a = clampAccount(storedAccount({ circuitState: 'half_open', circuitRetryAt: NOW - 10 }), cfg, NOW);
    expect(a.circuitState).toBe('open');
    expect(a.circuitRetryAt).toBe(NOW);
  });

  it('keeps the remaining open time and hold, cutting what lies beyond the maxima', () => {
    const kept = clampAccount(storedAccount({ circuitState: 'open', circuitRetryAt: NOW + 60_000, backoffUntil: NOW + 5_000 }), cfg, NOW);
    expect(kept.circuitRetryAt).toBe(NOW + 60_000);
    expect(kept.backoffUntil).toBe(NOW + 5_000);
    const cut = clampAccount(
      storedAccount({ circuitState: 'open', circuitRetryAt: NOW + 100 * HOUR, backoffUntil: NOW + 100 * HOUR, lastBackoffMs: 99 * HOUR, pace: { ...freshPace(), intervalMs: 99 * HOUR } }),
      cfg,
      NOW,
    );
    expect(cut.circuitRetryAt).toBe(NOW + Math.max(cfg.circuitBreaker.maxOpenMs, cfg.backoff.maxRetryAfterMs));
    expect(cut.backoffUntil).toBe(NOW + Math.max(cfg.backoff.maxMs, cfg.backoff.maxRetryAfterMs, cfg.pace.floorMs));
    expect(cut.lastBackoffMs).toBe(cfg.backoff.maxMs);
    expect(cut.pace.intervalMs).toBe(cfg.pace.floorMs);
  });

  it('clears an expired hold, a closed circuit’s retry time, and an open circuit without one opens due now', () => {
    expect(clampAccount(storedAccount({ backoffUntil: NOW - 1 }), cfg, NOW).backoffUntil).toBeNull();
    expect(clampAccount(storedAccount({ circuitRetryAt: NOW + 5 }), cfg, NOW).circuitRetryAt).toBeNull();
    expect(clampAccount(storedAccount({ circuitState: 'open', circuitRetryAt: null }), cfg, NOW).circuitRetryAt).toBe(NOW);
  });

  it('keeps only dispatches inside the window, none in the future, sorted', () => {
    const a = clampAccount(storedAccount({ dispatches: [NOW + 10, NOW - 70_000, NOW - 30_000, NOW - 60_000], lastDispatchAt: NOW + 10 }), cfg, NOW);
    expect(a.dispatches).toEqual([NOW - 30_000, NOW]);
    expect(a.lastDispatchAt).toBe(NOW);
  });
});
