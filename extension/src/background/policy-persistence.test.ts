import { describe, expect, it, vi } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import type { JournalEntry } from '../../../shared/journal.js';
import type { HostMethod, HostPayload } from '../../../shared/messages.js';
import type { LoadedPolicyState, PersistedAccount } from '../../../shared/policy-state.js';
import { JournalWriter } from './journal-writer.js';
import { CATCH_UP_RETRY_MS, PolicyMirror, type PolicyHost, type ReconcilingEngine } from './policy-persistence.js';
import type { PersistedTarget } from '../../../shared/policy-state.js';
import { storedAccount, storedTarget } from '../policy/test-persistence.js';
import { FakeClock } from '../policy/test-clock.js';
import { FakeBrowser } from './test-fakes.js';

const target = (clientId: string, over: Partial<PersistedTarget> = {}): PersistedTarget => storedTarget({ clientId, ...over });
const account = (dispatches: number[]): PersistedAccount => storedAccount({ dispatches, lastDispatchAt: dispatches.at(-1) ?? null, updatedAt: 1 });
/** The write-ahead journal row of an admitted request. */
const journalRow = (): JournalEntry => ({
  requestId: 'r1',
  clientId: 'a',
  platform: 'claude',
  method: 'POST',
  path: '/api/chat',
  outcome: 'admitted',
  createdAt: 1,
  admittedAt: 1,
  finishedAt: null,
  httpStatus: null,
  errorCode: null,
  admission: null,
});
/** A granted lease as the engine hands it to admit(). */
const admitted = { requestId: 'r1', target: { clientId: 'a', platform: 'claude' }, container: 'firefox-default', admittedAt: 1, probe: false };
const system = { version: 2 as const, paused: true, pauseReason: 'lunch', pausedAt: 5, updatedAt: 5 };

/** A host whose policy rows live in a map, paged like the real one. */
class Host implements PolicyHost {
  connected = false;
  failSaves = false;
  /** When set, policy writes are refused with it (a full disk, a read-only DB). */
  storeFailure: ConductorError | null = null;
  readonly storeErrors: string[] = [];
  readonly saves: unknown[] = [];
  readonly admits: unknown[] = [];
  readonly loads: unknown[] = [];
  /** The type of every request, in the order it reached the (FIFO) port. */
  readonly frames: string[] = [];
  savedAt: number | null = null;
  pages: LoadedPolicyState[] = [{ targets: [], accounts: [], system: null }];

  async request<M extends HostMethod>(type: M, payload: HostPayload<M>): Promise<never> {
    if (!this.connected) throw new ConductorError('host_unavailable', 'gone');
    this.frames.push(type);
    if (type === 'policy.save' || type === 'policy.admit') {
      if (this.failSaves) throw new ConductorError('timeout', 'slow');
      if (this.storeFailure !== null) throw this.storeFailure;
      (type === 'policy.save' ? this.saves : this.admits).push(payload);
      return { savedAt: 1234 } as never;
    }
    if (type === 'journal.record') return {} as never;
    this.loads.push(payload);
    const cursor = (payload as { cursor: string | null }).cursor;
    const i = cursor === null ? 0 : Number(cursor);
    const page = this.pages[i] as LoadedPolicyState;
    return { ...page, nextCursor: i + 1 < this.pages.length ? String(i + 1) : null } as never;
  }
  noteSaved(savedAt: number): void {
    this.savedAt = savedAt;
    this.storeErrors.length = 0;
  }
  noteStoreError(code: string): void {
    this.storeErrors.push(code);
  }
}

class Engine implements ReconcilingEngine {
  readonly reconciled: LoadedPolicyState[] = [];
  constructor(public state: LoadedPolicyState) {}
  reconcile(other: LoadedPolicyState): void {
    this.reconciled.push(other);
  }
  exportState(): LoadedPolicyState {
    return this.state;
  }
}

describe('PolicyMirror', () => {
  it('mirrors every save to storage.local, one key per entry, and deletes removed targets', async () => {
    const browser = new FakeBrowser();
    const mirror = new PolicyMirror(browser, new Host());
    await mirror.save({ targets: [target('a'), target('b')], deletedTargets: [], accounts: [account([10, 20])], system });
    await mirror.save({ targets: [], deletedTargets: [{ platform: 'claude', clientId: 'a' }], accounts: [], system: null });
    expect([...browser.storage.keys()].sort()).toEqual(['conductorFx.policy.account.claude/firefox-default', 'conductorFx.policy.system', 'conductorFx.policy.target.claude/b']);
  });

  it('restores from storage.local alone when there is no host (a browser restart without it)', async () => {
    const browser = new FakeBrowser();
    const open = { ...account([10]), circuitState: 'open' as const, circuitRetryAt: 9_999 };
    await new PolicyMirror(browser, new Host()).save({ targets: [target('a')], deletedTargets: [], accounts: [open], system });
    browser.storage.set('conductorFx.testPolicyConfig', { unrelated: true });
    // A version-1 window an older add-on left: loaded (the engine migrates it), removed once accounts are written.
    const legacy = { version: 1, platform: 'gemini', dispatches: [3], lastDispatchAt: 3, updatedAt: 3 };
    browser.storage.set('conductorFx.policy.platform.gemini', legacy);

    const mirror = new PolicyMirror(browser, new Host());
    expect(await mirror.load()).toEqual({ targets: [target('a')], accounts: [open], platforms: [legacy], system });
    await mirror.save({ targets: [], deletedTargets: [], accounts: [account([11])], system: null });
    expect(browser.storage.has('conductorFx.policy.platform.gemini')).toBe(false);
  });

  it('on (re)connect loads every page of the host, reconciles it into the engine, then pushes the merged state', async () => {
    const browser = new FakeBrowser();
    const host = new Host();
    host.pages = [
      { targets: [target('a')], accounts: [], system: null },
      { targets: [target('b')], accounts: [account([1])], system },
    ];
    const engine = new Engine({ targets: [target('a'), target('b'), { junk: true }], accounts: [account([1, 2])], system });
    const mirror = new PolicyMirror(browser, host);
    mirror.attach(engine);
    host.connected = true;
    await mirror.syncWithHost();

    expect(host.loads).toEqual([{ cursor: null, limit: 200 }, { cursor: '1', limit: 200 }]);
    expect(engine.reconciled).toEqual([{ targets: [target('a'), target('b')], accounts: [account([1])], system }]);
    // Invalid entries never reach the host.
    expect(host.saves).toEqual([{ targets: [target('a'), target('b')], deletedTargets: [], accounts: [account([1, 2])], system }]);
    expect(host.savedAt).toBe(1234);
    // storage.local gets the merged state too (the host may have held the stricter values).
    expect(browser.storage.get('conductorFx.policy.target.claude/b')).toEqual(target('b'));
    expect(browser.storage.get('conductorFx.policy.account.claude/firefox-default')).toEqual(account([1, 2]));
  });

  it('sends deltas while the host keeps up, and a full sync after a save it missed', async () => {
    const browser = new FakeBrowser();
    const host = new Host();
    const engine = new Engine({ targets: [target('a'), target('b')], accounts: [], system: null });
    const mirror = new PolicyMirror(browser, host);
    mirror.attach(engine);

    // Disconnected: storage only.
    await mirror.save({ targets: [target('a')], deletedTargets: [], accounts: [], system: null });
    expect(host.saves).toEqual([]);

    host.connected = true;
    await mirror.syncWithHost();
    await mirror.save({ targets: [target('b')], deletedTargets: [], accounts: [], system: null });
    expect(host.saves).toHaveLength(2);
    expect(host.saves[1]).toEqual({ targets: [target('b')], deletedTargets: [], accounts: [], system: null });

    host.failSaves = true;
    await mirror.save({ targets: [target('b')], deletedTargets: [], accounts: [], system: null });
    host.failSaves = false;
    await mirror.whenSynced();
    expect(engine.reconciled).toHaveLength(2);
    expect(host.saves.at(-1)).toEqual({ targets: [target('a'), target('b')], deletedTargets: [], accounts: [], system: null });
  });

  it('posts policy.admit inside admit(), before any await: ahead of the journal row the relay writes next', async () => {
    const browser = new FakeBrowser();
    const host = new Host();
    const mirror = new PolicyMirror(browser, host);
    mirror.attach(new Engine({ targets: [], accounts: [], system: null }));
    host.connected = true;
    await mirror.syncWithHost();
    host.frames.length = 0;
    // What an admission does: the engine hands the lease to admit() without waiting, then the
    // relay awaits the journal's write-ahead row over the same port before it dispatches.
    mirror.admit(admitted);
    await new JournalWriter(host).writeAhead(journalRow());
    expect(host.frames).toEqual(['policy.admit', 'journal.record']);
    expect(host.admits).toEqual([{ clientId: 'a', platform: 'claude', container: 'firefox-default', requestId: 'r1', admittedAt: 1, probe: false }]);
    // storage.local gets the dispatch with the engine's next (debounced) save of the rows, not from admit.
    expect(browser.storage.size).toBe(0);
  });

  it('sends no admit while the host is behind, and answers a refused admit with a full sync', async () => {
    const browser = new FakeBrowser();
    const host = new Host();
    const engine = new Engine({ targets: [target('a')], accounts: [], system: null });
    const mirror = new PolicyMirror(browser, host);
    mirror.attach(engine);
    host.connected = true;
    // Connected but not synced yet: the sync will push the state that holds this dispatch.
    mirror.admit(admitted);
    expect(host.frames).toEqual([]);
    await mirror.syncWithHost();
    host.failSaves = true;
    mirror.admit(admitted);
    host.failSaves = false;
    await vi.waitFor(() => expect(engine.reconciled).toHaveLength(2));
    await mirror.whenSynced();
    expect(host.frames.slice(-3)).toEqual(['policy.admit', 'policy.load', 'policy.save']);
  });

  it('does nothing on a sync before the engine is attached, and keeps storage writes when the host fails', async () => {
    const browser = new FakeBrowser();
    const host = new Host();
    host.connected = true;
    host.failSaves = true;
    const mirror = new PolicyMirror(browser, host);
    await mirror.syncWithHost();
    expect(host.loads).toEqual([]);
    await mirror.save({ targets: [target('a')], deletedTargets: [], accounts: [], system: null });
    expect(browser.storage.has('conductorFx.policy.target.claude/a')).toBe(true);
  });

  it('keeps saving to storage.local while the host cannot store (disk full), says why, and catches the host up once it can', async () => {
    const browser = new FakeBrowser();
    const host = new Host();
    const clock = new FakeClock();
    const engine = new Engine({ targets: [target('a')], accounts: [account([1, 2])], system: null });
    const mirror = new PolicyMirror(browser, host, undefined, clock);
    mirror.attach(engine);
    host.connected = true;
    await mirror.syncWithHost();
    const committed = host.saves.length;

    host.storeFailure = new ConductorError('disk_full', 'could not save the policy state: the disk (or the DB size limit) is full');
    // The engine opened the account's circuit and hands the change over.
    const open = storedAccount({ dispatches: [1, 2], lastDispatchAt: 2, updatedAt: 1, circuitState: 'open', circuitRetryAt: 50_000 });
    engine.state = { ...engine.state, accounts: [open] };
    await mirror.save({ targets: [], deletedTargets: [], accounts: [open], system: null });
    await mirror.whenSynced();
    expect(browser.storage.get('conductorFx.policy.account.claude/firefox-default')).toMatchObject({ circuitState: 'open', circuitRetryAt: 50_000 });
    expect(host.storeErrors).toContain('disk_full');
    expect(host.saves).toHaveLength(committed);

    // Still full at the first retry: refused again, the reason stays.
    await clock.advance(CATCH_UP_RETRY_MS);
    await mirror.whenSynced();
    expect(host.saves).toHaveLength(committed);
    expect(host.storeErrors.at(-1)).toBe('disk_full');

    // Space is back: the next retry pushes the whole state without any new change, and the reason clears.
    host.storeFailure = null;
    await clock.advance(CATCH_UP_RETRY_MS);
    await mirror.whenSynced();
    expect(host.saves).toHaveLength(committed + 1);
    expect(host.saves.at(-1)).toEqual({ targets: [target('a')], deletedTargets: [], accounts: [open], system: null });
    expect(host.storeErrors).toEqual([]);
    // Caught up: no more retries are scheduled.
    expect(clock.pendingTimers).toBe(0);
  });

  it('shows only store failures as the reason, not a slow or gone host', async () => {
    const browser = new FakeBrowser();
    const host = new Host();
    const mirror = new PolicyMirror(browser, host, undefined, new FakeClock());
    mirror.attach(new Engine({ targets: [], accounts: [], system: null }));
    host.connected = true;
    await mirror.syncWithHost();
    host.failSaves = true;
    await mirror.save({ targets: [target('a')], deletedTargets: [], accounts: [], system: null });
    await mirror.whenSynced();
    host.failSaves = false;
    host.storeFailure = new ConductorError('db_error', 'could not save the policy state: attempt to write a readonly database');
    await mirror.save({ targets: [target('a')], deletedTargets: [], accounts: [], system: null });
    await mirror.whenSynced();
    expect(host.storeErrors).toEqual(['db_error']);
  });
});
