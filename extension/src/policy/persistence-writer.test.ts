import { describe, expect, it } from 'vitest';
import type { PersistedPlatform, PersistedSystem, PersistedTarget, PolicyChanges, PolicyPersistence } from '../../../shared/policy-state.js';
import { PersistenceWriter, type Persistable } from './persistence-writer.js';
import { FakeClock } from './test-clock.js';
import { MemoryPersistence, storedPlatform, storedTarget } from './test-persistence.js';

const system: PersistedSystem = { version: 1, paused: false, pauseReason: null, pausedAt: null, updatedAt: 0 };
const systemRow = () => system;

/** A target entry whose row carries its failure count at save time. */
function target(clientId: string): Persistable<PersistedTarget> & { failures: number } {
  const e = { dirty: false, failures: 0, toRow: (now: number) => storedTarget({ clientId, consecutiveFailures: e.failures, updatedAt: now }) };
  return e;
}

const platform = (name: string): Persistable<PersistedPlatform> => ({ dirty: false, toRow: (now) => storedPlatform({ platform: name, updatedAt: now }) });

const keysOf = (c: PolicyChanges) => ({ targets: c.targets.map((t) => t.clientId), platforms: c.platforms.map((p) => p.platform), system: c.system !== null });

describe('PersistenceWriter', () => {
  it('coalesces changes for debounceMs into one save of only the changed rows', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const writer = new PersistenceWriter(store, clock, 25, systemRow, undefined);
    const a = target('a');
    writer.markTarget(a);
    a.failures += 1;
    writer.markTarget(a);
    writer.markPlatform(platform('claude'));
    await clock.advance(24);
    expect(store.saves).toHaveLength(0);
    await clock.advance(1);
    expect(store.saves.map(keysOf)).toEqual([{ targets: ['a'], platforms: ['claude'], system: false }]);
    // Built at save time: the latest state.
    expect(store.saves[0]?.targets[0]?.consecutiveFailures).toBe(1);
    writer.markSystem();
    await clock.advance(25);
    expect(store.saves.map(keysOf)[1]).toEqual({ targets: [], platforms: [], system: true });
  });

  it('flushes at once, and not at all when nothing is dirty', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const writer = new PersistenceWriter(store, clock, 10_000, systemRow, undefined);
    await writer.flush();
    expect(store.saves).toHaveLength(0);
    writer.markTarget(target('b'));
    await writer.flush();
    expect(store.saves.map(keysOf)).toEqual([{ targets: ['b'], platforms: [], system: false }]);
    await writer.flush();
    expect(store.saves).toHaveLength(1);
  });

  it('never overlaps saves: a flush during a save waits, then saves everything dirty since in one go', async () => {
    const clock = new FakeClock();
    const order: string[] = [];
    const releases: (() => void)[] = [];
    const slow: PolicyPersistence = {
      load: async () => ({ targets: [], platforms: [], system: null }),
      save: (changes) => {
        order.push(`start ${keysOf(changes).targets.join(',')}`);
        return new Promise<void>((resolve) =>
          releases.push(() => {
            order.push(`end ${keysOf(changes).targets.join(',')}`);
            resolve();
          }),
        );
      },
    };
    const writer = new PersistenceWriter(slow, clock, 25, systemRow, undefined);
    writer.markTarget(target('a'));
    const first = writer.flush();
    writer.markTarget(target('b'));
    const second = writer.flush();
    writer.markTarget(target('c'));
    const third = writer.flush();
    expect(third).toBe(second);
    await clock.advance(0);
    expect(order).toEqual(['start a']);
    releases.shift()?.();
    await first;
    await clock.advance(0);
    expect(order).toEqual(['start a', 'end a', 'start b,c']);
    releases.shift()?.();
    await second;
    // With nothing dirty, flush during a save waits for that save.
    writer.markTarget(target('d'));
    const fourth = writer.flush();
    expect(writer.flush()).toBe(fourth);
    releases.shift()?.();
    await fourth;
    expect(order).toEqual(['start a', 'end a', 'start b,c', 'end b,c', 'start d', 'end d']);
  });

  it('puts the keys of a failed save back, warns, and retries them', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const warnings: string[] = [];
    const writer = new PersistenceWriter(store, clock, 25, systemRow, { warn: (m) => warnings.push(m) });
    store.failWith = new Error('host gone');
    writer.markTarget(target('a'));
    await expect(writer.flush()).rejects.toThrow('host gone');
    writer.markPlatform(platform('claude'));
    await clock.advance(25);
    expect(warnings).toEqual(['policy state save failed; will retry']);
    store.failWith = null;
    await clock.advance(1000);
    expect(store.saves.map(keysOf)).toEqual([{ targets: ['a'], platforms: ['claude'], system: false }]);
  });

  it('writes an admission ahead at its own time, and undoes it (before the caller hears) if the save fails', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const writer = new PersistenceWriter(store, clock, 25, systemRow, undefined);
    const events: string[] = [];
    const admission = { undoWrite: () => events.push('undo') };
    writer.markTarget(target('a'));
    await writer.writeAhead(12_345, admission);
    expect(store.saves[0]?.targets[0]?.updatedAt).toBe(12_345);
    expect(events).toEqual([]);
    store.failWith = new Error('host gone');
    writer.markTarget(target('b'));
    await writer.writeAhead(1, admission).catch(() => events.push('rejected'));
    expect(events).toEqual(['undo', 'rejected']);
    // the failed rows are dirty again and go out with the next save
    store.failWith = null;
    await writer.flush();
    expect(store.saves.map(keysOf)[1]).toEqual({ targets: ['b'], platforms: [], system: false });
  });

  it('turns a save that throws synchronously into a rejection', async () => {
    const clock = new FakeClock();
    const throwing: PolicyPersistence = {
      load: async () => ({ targets: [], platforms: [], system: null }),
      save: () => {
        throw new Error('sync');
      },
    };
    const writer = new PersistenceWriter(throwing, clock, 25, systemRow, undefined);
    writer.markTarget(target('a'));
    await expect(writer.flush()).rejects.toThrow('sync');
  });

  it('stops its timer on dispose', async () => {
    const clock = new FakeClock();
    const store = new MemoryPersistence();
    const writer = new PersistenceWriter(store, clock, 25, systemRow, undefined);
    writer.markTarget(target('a'));
    writer.dispose();
    writer.markTarget(target('b'));
    await clock.advance(100);
    expect(store.saves).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});
