import { describe, expect, it } from 'vitest';
import type { AdmittedLease, PersistedAccount, PersistedSystem, PersistedTarget, PolicyChanges, PolicyPersistence } from '../../../shared/policy-state.js';
import { PersistenceWriter, type Persistable } from './persistence-writer.js';
import { FakeClock } from './test-clock.js';
import { MemoryPersistence, storedAccount, storedTarget } from './test-persistence.js';

const system: PersistedSystem = { version: 2, paused: false, pauseReason: null, pausedAt: null, updatedAt: 0 };
const systemRow = () => system;
const noMarkAll = (): void => {};

/** A target entry whose row carries its stale-sweep count at save time. */
function target(clientId: string): Persistable<PersistedTarget> & { failures: number } {
  const e = { dirty: false, failures: 0, toRow: (now: number) => storedTarget({ clientId, staleSweepCount: e.failures, updatedAt: now }) };
  return e;
}

const account = (name: string): Persistable<PersistedAccount> => ({ dirty: false, toRow: (now) => storedAccount({ platform: name, updatedAt: now }) });

const lease = (requestId: string): AdmittedLease => ({ requestId, target: { clientId: 'agent', platform: 'claude' }, container: 'firefox-default', admittedAt: 7, probe: false });

const keysOf = (c: PolicyChanges) => ({ targets: c.targets.map((t) => t.clientId), accounts: c.accounts.map((a) => a.platform), system: c.system !== null });

describe('PersistenceWriter', () => {
  it('coalesces changes for debounceMs into one save of only the changed rows', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const writer = new PersistenceWriter(store, clock, 25, systemRow, noMarkAll, undefined);
    const a = target('a');
    writer.markTarget(a);
    a.failures += 1;
    writer.markTarget(a);
    writer.markAccount(account('claude'));
    await clock.advance(24);
    expect(store.saves).toHaveLength(0);
    await clock.advance(1);
    expect(store.saves.map(keysOf)).toEqual([{ targets: ['a'], accounts: ['claude'], system: false }]);
    // Built at save time: the latest state.
    expect(store.saves[0]?.targets[0]?.staleSweepCount).toBe(1);
    writer.markSystem();
    await clock.advance(25);
    expect(store.saves.map(keysOf)[1]).toEqual({ targets: [], accounts: [], system: true });
  });

  it('flushes at once, and not at all when nothing is dirty', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const writer = new PersistenceWriter(store, clock, 10_000, systemRow, noMarkAll, undefined);
    await writer.flush();
    expect(store.saves).toHaveLength(0);
    writer.markTarget(target('b'));
    await writer.flush();
    expect(store.saves.map(keysOf)).toEqual([{ targets: ['b'], accounts: [], system: false }]);
    await writer.flush();
    expect(store.saves).toHaveLength(1);
  });

  it('hands every save off at once and in order, even while an earlier one is pending; flush waits for the latest', async () => {
    const clock = new FakeClock();
    const order: string[] = [];
    const releases: (() => void)[] = [];
    const slow: PolicyPersistence = {
      load: async () => ({ targets: [], system: null }),
      save: (changes) => {
        order.push(`start ${keysOf(changes).targets.join(',')}`);
        return new Promise<void>((resolve) => releases.push(resolve));
      },
      admit: (lease) => order.push(`admit ${lease.requestId}`),
    };
    const writer = new PersistenceWriter(slow, clock, 25, systemRow, noMarkAll, undefined);
    writer.markTarget(target('a'));
    void writer.flush();
    writer.admit(lease('r1'));
    writer.markTarget(target('b'));
    writer.markTarget(target('c'));
    void writer.flush();
    expect(order).toEqual(['start a', 'admit r1', 'start b,c']);
    // Nothing dirty: flush waits for the latest save handed off.
    let flushed = false;
    const flush = writer.flush().then(() => (flushed = true));
    releases.shift()?.();
    await clock.advance(0);
    expect(flushed).toBe(false);
    releases.shift()?.();
    await flush;
    expect(order).toEqual(['start a', 'admit r1', 'start b,c']);
  });

  it('warns on a failed save, marks everything dirty again and retries after a pause', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const warnings: string[] = [];
    const a = target('a');
    const claude = account('claude');
    let writer: PersistenceWriter | null = null;
    const markAll = (): void => {
      writer?.markTarget(a);
      writer?.markAccount(claude);
    };
    writer = new PersistenceWriter(store, clock, 25, systemRow, markAll, { warn: (m) => warnings.push(m) });
    store.failWith = new Error('host gone');
    writer.markTarget(a);
    await expect(writer.flush()).rejects.toThrow('host gone');
    expect(warnings).toEqual(['policy state save failed; will retry']);
    store.failWith = null;
    await clock.advance(999);
    expect(store.saves).toHaveLength(0);
    await clock.advance(1);
    expect(store.saves.map(keysOf)).toEqual([{ targets: ['a'], accounts: ['claude'], system: false }]);
  });

  it('hands an admission to admit() at once and only that: no rows, no timer; a throwing admit is warned about', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const warnings: string[] = [];
    const writer = new PersistenceWriter(store, clock, 25, systemRow, noMarkAll, { warn: (m) => warnings.push(m) });
    writer.admit(lease('r1'));
    expect(store.admits).toEqual([{ clientId: 'agent', platform: 'claude', container: 'firefox-default', requestId: 'r1', admittedAt: 7, probe: false }]);
    expect(store.saves).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);

    const broken: PolicyPersistence = {
      load: async () => ({ targets: [], system: null }),
      save: async () => {},
      admit: () => {
        throw new Error('port closed');
      },
    };
    const throwing = new PersistenceWriter(broken, clock, 25, systemRow, noMarkAll, { warn: (m) => warnings.push(m) });
    expect(() => throwing.admit(lease('r2'))).not.toThrow();
    expect(warnings).toEqual(['policy admission write-ahead failed; the next save carries it']);
  });

  it('turns a save that throws synchronously into a rejection', async () => {
    const clock = new FakeClock();
    const throwing: PolicyPersistence = {
      load: async () => ({ targets: [], system: null }),
      save: () => {
        throw new Error('sync');
      },
      admit: () => {},
    };
    const writer = new PersistenceWriter(throwing, clock, 25, systemRow, noMarkAll, undefined);
    writer.markTarget(target('a'));
    await expect(writer.flush()).rejects.toThrow('sync');
  });

  it('stops its timer on dispose', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const writer = new PersistenceWriter(store, clock, 25, systemRow, noMarkAll, undefined);
    writer.markTarget(target('a'));
    writer.dispose();
    writer.markTarget(target('b'));
    await clock.advance(100);
    expect(store.saves).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});
