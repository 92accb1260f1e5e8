import { describe, expect, it } from 'vitest';
import { AccountSnapshotSchema, TargetSnapshotSchema } from '../../../shared/status.js';
import { AccountState } from './account-state.js';
import { RateWindow } from './rate-window.js';
import { freshFields } from '../../../shared/policy-state.js';
import { EngineLease, fieldsOf, NO_DELAYS, TargetState, type LeaseOwner } from './target-state.js';
import { storedTarget } from './test-persistence.js';

const account = () => new AccountState('claude/firefox-default', { platform: 'claude', container: 'firefox-default' }, new RateWindow({ requestsPerMinutePerPlatform: 6, windowMs: 60_000, minSpacingMs: 0 }));

function withLeases(...ids: string[]) {
  const calls: string[] = [];
  const owner: LeaseOwner = {
    touched: (l, reason) => calls.push(`touch ${l.requestId} ${reason}`),
    completed: (l, o) => calls.push(`complete ${l.requestId} ${o.status}`),
  };
  const ts = new TargetState('claude/agent', { clientId: 'agent', platform: 'claude' });
  const acct = account();
  const leases = ids.map((id, i) => new EngineLease(id, ts.target, 'firefox-default', 100 + i, false, NO_DELAYS, ts, acct, owner));
  ts.leases.push(...leases);
  return { ts, acct, leases, calls };
}

describe('TargetState', () => {
  it('persists its fields with the live leases as in-flight entries', () => {
    const { ts, acct } = withLeases('a', 'b');
    acct.probe = 'b';
    const row = ts.toRow(500);
    expect(row).toEqual(storedTarget({ updatedAt: 500, lastActivityAt: 101, lastActivityReason: 'admitted', inFlight: [
      { requestId: 'a', container: 'firefox-default', admittedAt: 100, lastActivityAt: 100, probe: false },
      { requestId: 'b', container: 'firefox-default', admittedAt: 101, lastActivityAt: 101, probe: true },
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
    expect(snap).toMatchObject({ clientId: 'agent', platform: 'claude', inFlight: 1, waiting: 0, interrupted: 2 });
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

describe('AccountState', () => {
  it('keeps its line in arrival order, predicts a probe from recent durations, and shows a snapshot the schema accepts', () => {
    const acct = account();
    const p = (seq: number) => ({ seq }) as unknown as Parameters<AccountState['enter']>[0];
    const [a, b, c] = [p(5), p(2), p(9)];
    acct.enter(a);
    acct.enter(b);
    acct.enter(c);
    expect(acct.line.map((x) => x.seq)).toEqual([2, 5, 9]);
    expect(acct.leave(a)).toBe(true);
    expect(acct.leave(a)).toBe(false);
    expect(acct.typicalDurationMs()).toBeNull();
    for (const ms of [100, 900, 300]) acct.took(ms);
    expect(acct.typicalDurationMs()).toBe(300);
    acct.fields.backoffUntil = 5_000;
    acct.pace.intervalMs = 64_000;
    acct.window.record(1_000);
    expect(acct.nextAt(2_000)).toBe(65_000);
    const snap = AccountSnapshotSchema.parse(acct.toSnapshot(2_000));
    expect(snap).toMatchObject({ platform: 'claude', container: 'firefox-default', nextSlotAt: 65_000, waiting: 2, pace: { intervalMs: 64_000, pinned: false } });
    expect('lastBackoffMs' in snap).toBe(false);
  });
});
