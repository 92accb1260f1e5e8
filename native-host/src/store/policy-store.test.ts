import { beforeEach, describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { PolicyChangesSchema } from '../../../shared/policy-state.js';
import { loadAllPages, persistedAccount, persistedTarget } from '../../../test/host/fixtures.js';
import { useTempDb } from '../../../test/host/temp-store.js';
import type { Logger } from '../api/context.js';
import { PolicyStore } from './policy-store.js';

const BIG = 1024 * 1024;

const db = useTempDb();
let warnings: { message: string; fields?: Record<string, unknown> }[];
let store: PolicyStore;

beforeEach(() => {
  warnings = [];
  const log: Logger = { info: () => undefined, warn: (message, fields) => warnings.push({ message, fields }), error: () => undefined };
  store = new PolicyStore(db().sqlite, log);
});

const loadAll = (limit: number, maxBytes: number) => loadAllPages((cursor) => store.loadPage(cursor, limit, maxBytes));

describe('PolicyStore', () => {
  it('loads back what was saved, each kind in its own list', () => {
    const system = { version: 2 as const, paused: true, pauseReason: 'maintenance', pausedAt: 5, updatedAt: 5 };
    store.save(PolicyChangesSchema.parse({ targets: [persistedTarget('claude', 'a'), persistedTarget('chatgpt', 'b')], accounts: [persistedAccount('claude', [1, 2])], system }), 10);
    const page = store.loadPage(null, 500, BIG);
    expect(page.nextCursor).toBeNull();
    expect(page.targets).toEqual([persistedTarget('chatgpt', 'b'), persistedTarget('claude', 'a')]);
    expect(page.accounts).toEqual([persistedAccount('claude', [1, 2])]);
    expect(page.system).toEqual(system);
  });

  it('saves incrementally: upserts replace one row, deletes remove one, the rest stays', () => {
    store.save(PolicyChangesSchema.parse({ targets: [persistedTarget('claude', 'a'), persistedTarget('claude', 'b')] }), 1);
    store.save(PolicyChangesSchema.parse({ targets: [persistedTarget('claude', 'a', { staleSweepCount: 3 })], deletedTargets: [{ platform: 'claude', clientId: 'b' }] }), 2);
    const rows = db().sqlite.prepare('SELECT key, updated_at FROM browser_request_policy_state ORDER BY key').all();
    expect(rows).toEqual([{ key: 'claude/a', updated_at: 2 }]);
    expect(store.loadPage(null, 500, BIG).targets).toEqual([persistedTarget('claude', 'a', { staleSweepCount: 3 })]);
  });

  it('pages by row count with a cursor, every row exactly once', async () => {
    const targets = Array.from({ length: 25 }, (_, i) => persistedTarget('claude', `c${String(i).padStart(2, '0')}`));
    store.save(PolicyChangesSchema.parse({ targets, accounts: [persistedAccount('claude')] }), 1);
    const all = await loadAll(7, BIG);
    expect(all.pages).toBe(4);
    expect(all.targets).toEqual(targets);
    expect(all.accounts).toHaveLength(1);
  });

  it('pages by size so each page stays within the byte budget', () => {
    const dispatches = Array.from({ length: 5_000 }, (_, i) => 1_700_000_000_000 + i);
    const accounts = Array.from({ length: 12 }, (_, i) => persistedAccount(`p${i}`, dispatches));
    store.save(PolicyChangesSchema.parse({ accounts }), 1);
    const rowBytes = JSON.stringify(accounts[0]).length + 1;
    const budget = rowBytes * 3 + 10;
    let cursor: string | null = null;
    let pages = 0;
    const seen: unknown[] = [];
    do {
      const page = store.loadPage(cursor, 5_000, budget);
      expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThan(budget + 200);
      expect(page.accounts.length).toBeLessThanOrEqual(3);
      seen.push(...page.accounts);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(4);
    expect(seen).toEqual([...accounts].sort((a, b) => a.platform.localeCompare(b.platform)));
  });

  it('hands back a row that is JSON but not a valid entry raw, and skips a row that is not JSON with a warning', async () => {
    store.save(PolicyChangesSchema.parse({ targets: [persistedTarget('claude', 'good')] }), 1);
    const insert = db().sqlite.prepare("INSERT INTO browser_request_policy_state (kind, key, value, updated_at) VALUES ('target', ?, ?, 1)");
    insert.run('claude/odd', '{"version":99,"what":"from the future"}');
    insert.run('claude/broken', '{"version":1, "clientId": "bro');
    const all = await loadAll(500, BIG);
    expect(all.targets).toEqual([persistedTarget('claude', 'good'), { version: 99, what: 'from the future' }]);
    expect(warnings).toEqual([{ message: 'corrupt policy state row (not JSON); skipped', fields: { kind: 'target', key: 'claude/broken' } }]);
  });

  it('skips a row too large for any page instead of failing the load', async () => {
    store.save(PolicyChangesSchema.parse({ accounts: [persistedAccount('small')] }), 1);
    db().sqlite
      .prepare("INSERT INTO browser_request_policy_state (kind, key, value, updated_at) VALUES ('account', 'huge/firefox-default', ?, 1)")
      .run(JSON.stringify({ junk: 'x'.repeat(5_000) }));
    const all = await loadAll(500, 1_000);
    expect(all.accounts).toEqual([persistedAccount('small')]);
    expect(warnings.map((w) => w.message)).toEqual(['policy state row too large to send; skipped']);
  });

  it('keeps nothing of a save that fails part way', () => {
    store.save(PolicyChangesSchema.parse({ targets: [persistedTarget('claude', 'a')] }), 1);
    db().sqlite.exec("CREATE TRIGGER refuse BEFORE INSERT ON browser_request_policy_state WHEN NEW.key = 'claude/z' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    const changes = PolicyChangesSchema.parse({ targets: [persistedTarget('claude', 'b'), persistedTarget('claude', 'z')], deletedTargets: [{ platform: 'claude', clientId: 'a' }] });
    expect(() => store.save(changes, 2)).toThrow(ConductorError);
    expect(store.loadPage(null, 500, BIG).targets).toEqual([persistedTarget('claude', 'a')]);
  });

  it('writes an admission ahead into the target and account rows, keeping what they held', () => {
    store.save(PolicyChangesSchema.parse({ targets: [persistedTarget('claude', 'a', { staleSweepCount: 2 })], accounts: [{ ...persistedAccount('claude', [100]), trips: 2 }] }), 1);
    store.admit({ clientId: 'a', platform: 'claude', container: 'firefox-default', requestId: 'r1', admittedAt: 200, probe: true }, 3);
    store.admit({ clientId: 'b', platform: 'chatgpt', container: 'firefox-container-2', requestId: 'r2', admittedAt: 300, probe: false }, 4);
    const page = store.loadPage(null, 500, BIG);
    expect(page.targets).toEqual([
      persistedTarget('chatgpt', 'b', { inFlight: [{ requestId: 'r2', container: 'firefox-container-2', admittedAt: 300, lastActivityAt: 300, probe: false }], lastActivityAt: 300, lastActivityReason: 'admitted', updatedAt: 300 }),
      persistedTarget('claude', 'a', { staleSweepCount: 2, inFlight: [{ requestId: 'r1', container: 'firefox-default', admittedAt: 200, lastActivityAt: 200, probe: true }], lastActivityAt: 200, lastActivityReason: 'admitted', updatedAt: 200 }),
    ]);
    expect(page.accounts).toEqual([
      { ...persistedAccount('chatgpt', [300], 'firefox-container-2'), clients: ['b'], updatedAt: 300 },
      { ...persistedAccount('claude', [100, 200]), trips: 2, clients: ['a'], updatedAt: 200 },
    ]);
  });

  it('replaces a corrupt row when an admission is written into it, with a warning', () => {
    db().sqlite.prepare("INSERT INTO browser_request_policy_state (kind, key, value, updated_at) VALUES ('account', 'claude/firefox-default', '{\"dispat', 1)").run();
    store.admit({ clientId: 'a', platform: 'claude', container: 'firefox-default', requestId: 'r1', admittedAt: 200, probe: false }, 2);
    expect(store.loadPage(null, 500, BIG).accounts).toEqual([{ ...persistedAccount('claude', [200]), clients: ['a'], updatedAt: 200 }]);
    expect(warnings).toEqual([{ message: 'corrupt policy state row (not JSON); skipped', fields: { kind: 'account', key: 'claude/firefox-default' } }]);
  });

  it('keeps nothing of an admission that fails part way', () => {
    db().sqlite.exec("CREATE TRIGGER refuse BEFORE INSERT ON browser_request_policy_state WHEN NEW.kind = 'account' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    expect(() => store.admit({ clientId: 'a', platform: 'claude', container: 'firefox-default', requestId: 'r1', admittedAt: 200, probe: false }, 2)).toThrow(ConductorError);
    expect(store.loadPage(null, 500, BIG)).toEqual({ targets: [], accounts: [], system: null, nextCursor: null });
  });

  it('refuses a cursor it did not hand out', () => {
    expect(() => store.loadPage('nonsense', 10, BIG)).toThrow(expect.objectContaining({ code: 'bad_payload' }));
  });

  it('returns an empty last page for an empty store', () => {
    expect(store.loadPage(null, 500, BIG)).toEqual({ targets: [], accounts: [], system: null, nextCursor: null });
  });
});
