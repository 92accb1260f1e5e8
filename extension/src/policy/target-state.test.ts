import { describe, expect, it } from 'vitest';
import { TargetSnapshotSchema } from '../../../shared/status.js';
import { RateWindow } from './rate-window.js';
import { freshFields } from '../../../shared/policy-state.js';
import { EngineLease, fieldsOf, NO_DELAYS, TargetState, type LeaseOwner } from './target-state.js';
import { storedTarget } from './test-persistence.js';

const window = () => new RateWindow('claude', { requestsPerMinutePerPlatform: 6, windowMs: 60_000, minSpacingMs: 0 });

function withLeases(...ids: string[]) {
  const calls: string[] = [];
  const owner: LeaseOwner = {
    touched: (l, reason) => calls.push(`touch ${l.requestId} ${reason}`),
    completed: (l, o) => calls.push(`complete ${l.requestId} ${o.status}`),
  };
  const ts = new TargetState('claude/agent', { clientId: 'agent', platform: 'claude' }, window());
  const leases = ids.map((id, i) => new EngineLease(id, ts.target, 100 + i, false, NO_DELAYS, ts, owner));
  ts.leases.push(...leases);
  return { ts, leases, calls };
}

describe('TargetState', () => {
  it('persists its fields with the live leases as in-flight entries', () => {
    const { ts } = withLeases('a', 'b');
    ts.probe = 'b';
    const row = ts.toRow(500);
    expect(row).toEqual(storedTarget({ updatedAt: 500, lastActivityAt: 101, lastActivityReason: 'admitted', inFlight: [
      { requestId: 'a', admittedAt: 100, lastActivityAt: 100, probe: false },
      { requestId: 'b', admittedAt: 101, lastActivityAt: 101, probe: true },
    ] }));
    expect(fieldsOf(row)).toEqual({ ...freshFields(), lastActivityAt: 101, lastActivityReason: 'admitted' });
  });

  it('reports the latest activity of the target or of a live lease, whichever is later', () => {
    const { ts, leases } = withLeases('a', 'b');
    ts.fields.lastActivityAt = 200;
    ts.fields.lastActivityReason = 'reset';
    expect(ts.toSnapshot()).toMatchObject({ lastActivityAt: 200, lastActivityReason: 'reset' });
    const a = leases[0] as EngineLease;
    a.touchedAt = 300;
    a.lastActivityReason = 'chunk';
    expect(ts.toRow(400)).toMatchObject({ lastActivityAt: 300, lastActivityReason: 'chunk' });
    expect(ts.toSnapshot()).toMatchObject({ lastActivityAt: 300, lastActivityReason: 'chunk' });
  });

  it('shows a snapshot that the status schema accepts, counting leases and waiters', () => {
    const { ts } = withLeases('a');
    ts.interrupted = 2;
    const snap = TargetSnapshotSchema.parse(ts.toSnapshot());
    expect(snap).toMatchObject({ clientId: 'agent', platform: 'claude', inFlight: 1, waiting: 0, interrupted: 2, circuitState: 'closed' });
    expect('lastBackoffMs' in ts.toSnapshot()).toBe(false);
  });

  it('finds, removes and counts leases', () => {
    const { ts, leases } = withLeases('a', 'b', 'c');
    expect(ts.has('b')).toBe(true);
    expect(ts.removeLease(leases[0] as EngineLease)).toBe(true);
    expect(ts.removeLease(leases[0] as EngineLease)).toBe(false);
    expect(ts.leases.map((l) => l.requestId).sort()).toEqual(['b', 'c']);
    expect(ts.lease('c')).toBe(leases[2]);
    expect(ts.lease(null)).toBeUndefined();
    expect(ts.active).toBe(2);
  });
});

describe('EngineLease', () => {
  it('forwards touch and complete to its owner until it is done', () => {
    const { leases, calls } = withLeases('a');
    const lease = leases[0] as EngineLease;
    lease.touch();
    lease.touch('chunk');
    lease.complete({ status: 'success' });
    lease.done = true;
    lease.touch('late');
    lease.complete({ status: 'failure' });
    expect(calls).toEqual(['touch a activity', 'touch a chunk', 'complete a success']);
    expect(lease.lastActivityMono).toBeNull();
  });
});
