import { describe, expect, it } from 'vitest';
import { storedAccount, storedTarget } from '../extension/src/policy/test-persistence.js';
import { applyAdmission, type PolicyAdmission } from './policy-state.js';

const A: PolicyAdmission = { clientId: 'agent', platform: 'claude', container: 'firefox-default', requestId: 'r1', admittedAt: 5_000, probe: false };
const lease = (requestId: string, admittedAt: number) => ({ requestId, container: 'firefox-default', admittedAt, lastActivityAt: admittedAt, probe: false });

describe('applyAdmission', () => {
  it('starts fresh rows for a target and account never stored', () => {
    expect(applyAdmission(undefined, undefined, A)).toEqual({
      target: storedTarget({ inFlight: [lease('r1', 5_000)], lastActivityAt: 5_000, lastActivityReason: 'admitted', updatedAt: 5_000 }),
      account: storedAccount({ dispatches: [5_000], lastDispatchAt: 5_000, clients: ['agent'], updatedAt: 5_000 }),
    });
  });

  it('adds to stored rows, keeps their other fields, and keeps the window sorted', () => {
    const { target, account } = applyAdmission(
      storedTarget({ staleSweepCount: 2, inFlight: [lease('r0', 6_000)], lastActivityAt: 7_000, lastActivityReason: 'success', updatedAt: 7_000 }),
      storedAccount({ trips: 2, dispatches: [4_000, 6_000], lastDispatchAt: 6_000, clients: ['agent'], updatedAt: 7_000 }),
      A,
    );
    expect(target).toEqual(
      storedTarget({ staleSweepCount: 2, inFlight: [lease('r0', 6_000), lease('r1', 5_000)], lastActivityAt: 7_000, lastActivityReason: 'success', updatedAt: 7_000 }),
    );
    expect(account).toEqual(storedAccount({ trips: 2, dispatches: [4_000, 5_000, 6_000], lastDispatchAt: 6_000, clients: ['agent'], updatedAt: 7_000 }));
  });

  it('is idempotent: the same admission applied twice is counted once', () => {
    const once = applyAdmission(undefined, undefined, A);
    expect(applyAdmission(once.target, once.account, A)).toEqual(once);
  });

  it('counts two requests admitted in the same ms twice, as the engine window does', () => {
    const first = applyAdmission(undefined, undefined, A);
    const other = applyAdmission(undefined, first.account, { ...A, clientId: 'other', requestId: 'r2' });
    expect(other.account.dispatches).toEqual([5_000, 5_000]);
    expect(other.account.clients).toEqual(['agent', 'other']);
  });

  it('replaces a stored row that fails its schema', () => {
    const { target, account } = applyAdmission({ version: 1, circuitState: 'exploded' }, 'nonsense', A);
    expect(target.inFlight).toEqual([lease('r1', 5_000)]);
    expect(account.dispatches).toEqual([5_000]);
  });

  it('drops the oldest entries at the schema caps', () => {
    const inFlight = Array.from({ length: 64 }, (_, i) => lease(`old${i}`, i));
    const dispatches = Array.from({ length: 10_000 }, (_, i) => 2 * i + 1);
    const { target, account: platform } = applyAdmission(storedTarget({ inFlight }), storedAccount({ dispatches, lastDispatchAt: 19_999 }), A);
    expect(target.inFlight).toHaveLength(64);
    expect(target.inFlight[0]?.requestId).toBe('old1');
    expect(target.inFlight.at(-1)?.requestId).toBe('r1');
    expect(platform.dispatches).toHaveLength(10_000);
    expect(platform.dispatches[0]).toBe(3);
    expect(platform.dispatches.at(-1)).toBe(19_999);
    expect(platform.dispatches).toContain(5_000);
  });
});
