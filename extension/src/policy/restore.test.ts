import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../../shared/policy-config.js';
import { clampPlatform, clampTarget, migrateEntry, restoreState } from './restore.js';
import { storedPlatform, storedTarget } from './test-persistence.js';

const cfg = DEFAULT_POLICY_CONFIG;
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;

function recorder() {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return { warnings, log: { warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, fields }) } };
}

describe('restoreState', () => {
  it('keeps valid entries and drops corrupt ones with a warning naming the field', () => {
    const { warnings, log } = recorder();
    const good = storedTarget({ clientId: 'a' });
    const restored = restoreState(
      {
        targets: [good, { ...storedTarget({ clientId: 'b' }), consecutiveFailures: -1 }, 'garbage', null],
        platforms: [storedPlatform(), { version: 1, platform: 'BAD PLATFORM', dispatches: [], lastDispatchAt: null, updatedAt: 0 }],
        system: { version: 1, paused: 'yes' },
      },
      cfg,
      NOW,
      log,
    );
    expect(restored.targets.map((t) => t.clientId)).toEqual(['a']);
    expect(restored.platforms.map((p) => p.platform)).toEqual(['claude']);
    expect(restored.system).toBeNull();
    expect(warnings).toHaveLength(5);
    expect(warnings[0]?.fields).toMatchObject({ kind: 'target', index: 1, issues: [{ path: 'consecutiveFailures' }] });
    expect(warnings[1]?.fields).toMatchObject({ kind: 'target', index: 2, reason: 'not an object' });
  });

  it('falls back to the defaults, with a warning, when the whole state is unreadable', () => {
    const { warnings, log } = recorder();
    expect(restoreState({ targets: 'nope' }, cfg, NOW, log)).toEqual({ targets: [], platforms: [], system: null });
    expect(restoreState(undefined, cfg, NOW, log)).toEqual({ targets: [], platforms: [], system: null });
    expect(warnings).toHaveLength(2);
  });

  it('restores the system switches', () => {
    const system = { version: 1 as const, paused: true, pauseReason: 'captcha', pausedAt: NOW - 5, updatedAt: NOW - 5 };
    expect(restoreState({ targets: [], platforms: [], system }, cfg, NOW).system).toEqual(system);
  });
});

describe('migrateEntry', () => {
  it('accepts the current version and refuses newer, missing or unmigratable ones', () => {
    expect(migrateEntry({ version: 1, x: 1 })).toEqual({ ok: true, entry: { version: 1, x: 1 } });
    expect(migrateEntry({ version: 2 })).toEqual({ ok: false, reason: 'version 2 is newer than 1' });
    expect(migrateEntry({})).toEqual({ ok: false, reason: 'no version' });
    expect(migrateEntry({ version: 0 })).toEqual({ ok: false, reason: 'no migration from version 0' });
    expect(migrateEntry([1])).toEqual({ ok: false, reason: 'not an object' });
  });
});

describe('clampTarget', () => {
  it('restores a half-open circuit as open and due now (its probe died with the process)', () => {
    const t = clampTarget(storedTarget({ circuitState: 'half_open', circuitRetryAt: NOW - 10 }), cfg, NOW);
    expect(t.circuitState).toBe('open');
    expect(t.circuitRetryAt).toBe(NOW);
  });

  it('keeps the remaining open time and backoff, cutting what lies beyond the maxima', () => {
    const kept = clampTarget(storedTarget({ circuitState: 'open', circuitRetryAt: NOW + 60_000, backoffUntil: NOW + 5_000 }), cfg, NOW);
    expect(kept.circuitRetryAt).toBe(NOW + 60_000);
    expect(kept.backoffUntil).toBe(NOW + 5_000);
    const cut = clampTarget(storedTarget({ circuitState: 'open', circuitRetryAt: NOW + 100 * HOUR, backoffUntil: NOW + 100 * HOUR, lastBackoffMs: 99 * HOUR }), cfg, NOW);
    expect(cut.circuitRetryAt).toBe(NOW + Math.max(cfg.circuitBreaker.maxOpenMs, cfg.backoff.maxRetryAfterMs));
    expect(cut.backoffUntil).toBe(NOW + Math.max(cfg.backoff.maxMs, cfg.backoff.maxRetryAfterMs));
    expect(cut.lastBackoffMs).toBe(cfg.backoff.maxMs);
  });

  it('clears expired backoff, a closed circuit’s retry time, and an open circuit without one opens due now', () => {
    expect(clampTarget(storedTarget({ backoffUntil: NOW - 1 }), cfg, NOW).backoffUntil).toBeNull();
    expect(clampTarget(storedTarget({ circuitRetryAt: NOW + 5 }), cfg, NOW).circuitRetryAt).toBeNull();
    expect(clampTarget(storedTarget({ circuitState: 'open', circuitRetryAt: null }), cfg, NOW).circuitRetryAt).toBe(NOW);
  });

  it('pulls in-flight times from the future back to now', () => {
    const t = clampTarget(storedTarget({ inFlight: [{ requestId: 'r', admittedAt: NOW + 50, lastActivityAt: NOW + 60, probe: false }] }), cfg, NOW);
    expect(t.inFlight).toEqual([{ requestId: 'r', admittedAt: NOW, lastActivityAt: NOW, probe: false }]);
  });
});

describe('clampPlatform', () => {
  it('keeps only dispatches inside the window, none in the future, sorted', () => {
    const p = clampPlatform(storedPlatform({ dispatches: [NOW + 10, NOW - 70_000, NOW - 30_000, NOW - 60_000], lastDispatchAt: NOW + 10 }), cfg, NOW);
    expect(p.dispatches).toEqual([NOW - 30_000, NOW]);
    expect(p.lastDispatchAt).toBe(NOW);
  });
});
