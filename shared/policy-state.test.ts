import { describe, expect, it } from 'vitest';
import { storedPlatform, storedTarget } from '../extension/src/policy/test-persistence.js';
import { applyAdmission, type PolicyAdmission } from './policy-state.js';

const A: PolicyAdmission = { clientId: 'agent', platform: 'claude', requestId: 'r1', admittedAt: 5_000, probe: false };
const lease = (requestId: string, admittedAt: number) => ({ requestId, admittedAt, lastActivityAt: admittedAt, probe: false });

describe('applyAdmission', () => {
  it('starts fresh rows for a target and platform never stored', () => {
    expect(applyAdmission(undefined, undefined, A)).toEqual({
      target: storedTarget({ inFlight: [lease('r1', 5_000)], lastActivityAt: 5_000, lastActivityReason: 'admitted', updatedAt: 5_000 }),
      platform: storedPlatform({ dispatches: [5_000], lastDispatchAt: 5_000, updatedAt: 5_000 }),
    });
  });

  it('adds to stored rows, keeps their other fields, and keeps the window sorted', () => {
    const { target, platform } = applyAdmission(
      storedTarget({ trips: 2, inFlight: [lease('r0', 6_000)], lastActivityAt: 7_000, lastActivityReason: 'success', updatedAt: 7_000 }),
      storedPlatform({ dispatches: [4_000, 6_000], lastDispatchAt: 6_000, updatedAt: 7_000 }),
      A,
    );
    expect(target).toEqual(
      storedTarget({ trips: 2, inFlight: [lease('r0', 6_000), lease('r1', 5_000)], lastActivityAt: 7_000, lastActivityReason: 'success', updatedAt: 7_000 }),
    );
    expect(platform).toEqual(storedPlatform({ dispatches: [4_000, 5_000, 6_000], lastDispatchAt: 6_000, updatedAt: 7_000 }));
  });

  it('is idempotent: the same admission applied twice is counted once', () => {
    const once = applyAdmission(undefined, undefined, A);
    expect(applyAdmission(once.target, once.platform, A)).toEqual(once);
  });

  it('counts two requests admitted in the same ms twice, as the engine window does', () => {
    const first = applyAdmission(undefined, undefined, A);
    const other = applyAdmission(undefined, first.platform, { ...A, clientId: 'other', requestId: 'r2' });
    expect(other.platform.dispatches).toEqual([5_000, 5_000]);
  });

  it('replaces a stored row that fails its schema', () => {
    const { target, platform } = applyAdmission({ version: 1, circuitState: 'exploded' }, 'nonsense', A);
    expect(target.inFlight).toEqual([lease('r1', 5_000)]);
    expect(platform.dispatches).toEqual([5_000]);
  });

  it('drops the oldest entries at the schema caps', () => {
    const inFlight = Array.from({ length: 64 }, (_, i) => lease(`old${i}`, i));
    const dispatches = Array.from({ length: 10_000 }, (_, i) => 2 * i + 1);
    const { target, platform } = applyAdmission(storedTarget({ inFlight }), storedPlatform({ dispatches, lastDispatchAt: 19_999 }), A);
    expect(target.inFlight).toHaveLength(64);
    expect(target.inFlight[0]?.requestId).toBe('old1');
    expect(target.inFlight.at(-1)?.requestId).toBe('r1');
    expect(platform.dispatches).toHaveLength(10_000);
    expect(platform.dispatches[0]).toBe(3);
    expect(platform.dispatches.at(-1)).toBe(19_999);
    expect(platform.dispatches).toContain(5_000);
  });
});
