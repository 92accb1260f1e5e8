import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_HOST_TO_EXTENSION_BYTES } from '../../shared/messages.js';
import { openArtifactDb } from '../../native-host/src/store/db.js';
import { ensureHostBuilt, startHost, type HostHandle } from '../helpers/host-process.js';
import { loadAllPages, persistedAccount, persistedTarget } from './fixtures.js';

beforeAll(ensureHostBuilt);

const loadAll = (host: HostHandle) => loadAllPages((cursor) => host.request('policy.load', { cursor, limit: 5_000 }));

describe('policy state through the host', () => {
  it('loads back what was saved, after a kill -9 and a restart', async () => {
    const first = startHost();
    const dataDir = first.dataDir;
    const system = { version: 2 as const, paused: true, pauseReason: 'night', pausedAt: 7, updatedAt: 7 };
    try {
      await first.request('policy.save', { targets: [persistedTarget('claude', 'a'), persistedTarget('claude', 'b')], accounts: [persistedAccount('claude', [5, 6])], system });
      const { savedAt } = await first.request('policy.save', {
        targets: [persistedTarget('claude', 'a', { staleSweepCount: 2, lastStaleSweepAt: 99 })],
        deletedTargets: [{ platform: 'claude', clientId: 'b' }],
      });
      expect((await first.request('status.get', {})).lastSavedAt).toBe(savedAt);
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');

      const second = startHost({ dataDir });
      try {
        const all = await loadAll(second);
        expect(all.targets).toEqual([persistedTarget('claude', 'a', { staleSweepCount: 2, lastStaleSweepAt: 99 })]);
        expect(all.accounts).toEqual([persistedAccount('claude', [5, 6])]);
        expect(all.system).toEqual(system);
      } finally {
        await second.dispose();
      }
    } finally {
      await first.dispose();
    }
  });

  it('commits a written-ahead admission before its reply: it survives a kill -9 right after', async () => {
    const first = startHost();
    const dataDir = first.dataDir;
    try {
      await first.request('policy.save', { targets: [persistedTarget('claude', 'a', { staleSweepCount: 1 })], accounts: [{ ...persistedAccount('claude', [5]), trips: 1 }] });
      await first.request('policy.admit', { clientId: 'a', platform: 'claude', container: 'firefox-default', requestId: 'r1', admittedAt: 9, probe: false });
      first.kill('SIGKILL');
      await first.exited;
      const second = startHost({ dataDir });
      try {
        const all = await loadAll(second);
        expect(all.targets).toEqual([
          persistedTarget('claude', 'a', { staleSweepCount: 1, inFlight: [{ requestId: 'r1', container: 'firefox-default', admittedAt: 9, lastActivityAt: 9, probe: false }], lastActivityAt: 9, lastActivityReason: 'admitted', updatedAt: 9 }),
        ]);
        expect(all.accounts).toEqual([{ ...persistedAccount('claude', [5, 9]), trips: 1, clients: ['a'], updatedAt: 9 }]);
        // A malformed admission is refused by its schema, with the field named.
        await expect(second.request('policy.admit', { clientId: 'a', platform: 'claude', container: 'firefox-default', requestId: '', admittedAt: 10, probe: false })).rejects.toMatchObject({ code: 'bad_payload' });
      } finally {
        await second.dispose();
      }
    } finally {
      await first.dispose();
    }
  });

  it('pages a state of several MiB so every reply frame stays under 1 MiB', async () => {
    const host = startHost();
    try {
      const dispatches = Array.from({ length: 10_000 }, (_, i) => 1_700_000_000_000 + i);
      const accounts = Array.from({ length: 24 }, (_, i) => persistedAccount(`p${String(i).padStart(2, '0')}`, dispatches));
      const targets = Array.from({ length: 3_000 }, (_, i) => persistedTarget('claude', `client-${String(i).padStart(5, '0')}`, { lastActivityReason: 'x'.repeat(60) }));
      await host.request('policy.save', { targets, accounts });
      const before = host.frameSizes.length;
      const all = await loadAll(host);
      const pageFrames = host.frameSizes.slice(before);
      expect(all.pages).toBeGreaterThanOrEqual(4);
      expect(pageFrames.reduce((a, b) => a + b, 0)).toBeGreaterThan(3 * MAX_HOST_TO_EXTENSION_BYTES);
      expect(Math.max(...pageFrames)).toBeLessThanOrEqual(MAX_HOST_TO_EXTENSION_BYTES);
      expect(all.accounts).toEqual(accounts);
      expect(all.targets).toEqual(targets);
    } finally {
      await host.dispose();
    }
  });

  it('hands back a schema-invalid row raw and skips a row that is not JSON, with a warning', async () => {
    const host = startHost();
    try {
      await host.request('policy.save', { targets: [persistedTarget('claude', 'good')] });
      const db = openArtifactDb(host.dataDir);
      try {
        const insert = db.sqlite.prepare("INSERT INTO browser_request_policy_state (kind, key, value, updated_at) VALUES ('target', ?, ?, 1)");
        insert.run('claude/future', '{"version":2}');
        insert.run('claude/torn', '{"version":1,"cli');
      } finally {
        db.close();
      }
      const all = await loadAll(host);
      expect(all.targets).toEqual([{ version: 2 }, persistedTarget('claude', 'good')]);
      await host.waitForStderr('corrupt policy state row (not JSON); skipped {"kind":"target","key":"claude/torn"}');
      await expect(host.request('ping', {})).resolves.toBeDefined();
    } finally {
      await host.dispose();
    }
  });

  it('answers bad_payload for a save that fails the schema and stores nothing of it', async () => {
    const host = startHost();
    try {
      const bad = { ...persistedTarget('claude', 'x'), staleSweepCount: -1 };
      await expect(host.request('policy.save', { targets: [persistedTarget('claude', 'ok'), bad] })).rejects.toMatchObject({ code: 'bad_payload' });
      expect((await loadAll(host)).targets).toEqual([]);
    } finally {
      await host.dispose();
    }
  });
});
