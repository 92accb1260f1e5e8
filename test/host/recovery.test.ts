import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '../../native-host/src/store/conversation-store.js';
import { openArtifactDb } from '../../native-host/src/store/db.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../native-host/src/store/migrations.js';
import { RenewalStore } from '../../native-host/src/store/renewal-store.js';
import { ensureHostBuilt, startHost } from '../helpers/host-process.js';
import { journalEntry, persistedTarget } from './fixtures.js';

beforeAll(ensureHostBuilt);

const FAR_FUTURE = 4_000_000_000_000;

describe('restart recovery of the real host', () => {
  it('recovers what a killed host left in flight, reports the counts, and finds nothing on the next start', async () => {
    const first = startHost({ env: { CONDUCTOR_FX_RENEWAL_RECOVERY_DELAY_MS: '90000' } });
    const dataDir = first.dataDir;
    try {
      await first.hello();
      // Seed conversations and jobs as a running renewal worker would have left them.
      const db = openArtifactDb(dataDir);
      let soonJob: number;
      let farJob: number;
      try {
        const conversations = new ConversationStore(db.sqlite);
        for (const [id, state] of [['busy-1', 'renewal_running'], ['busy-2', 'instruction_running'], ['calm', 'idle']] as const) {
          conversations.insert({ id, platform: 'claude', clientId: 'a', automationStatus: 'auto', executionState: state, pauseReason: null, lastError: null, createdAt: 1, updatedAt: 1 });
        }
        const renewals = new RenewalStore(db.sqlite);
        const running = { conversationId: 'busy-1', status: 'running' as const, attemptCount: 1, startedAt: 5, finishedAt: null, createdAt: 1, updatedAt: 1 };
        soonJob = renewals.insert({ ...running, nextAttemptAt: 10 });
        farJob = renewals.insert({ ...running, nextAttemptAt: FAR_FUTURE });
        renewals.insert({ ...running, status: 'pending', startedAt: null, nextAttemptAt: 10 });
      } finally {
        db.close();
      }
      // Two requests written ahead and one finished, through the host as the add-on does it.
      await first.request('journal.record', { entries: [journalEntry('flying-1'), journalEntry('flying-2'), journalEntry('landed', { outcome: 'success', httpStatus: 200, finishedAt: 2_000 })] });
      first.kill('SIGKILL');
      await first.exited;

      const beforeRestart = Date.now();
      const second = startHost({ dataDir, env: { CONDUCTOR_FX_RENEWAL_RECOVERY_DELAY_MS: '90000' } });
      try {
        const { recovery } = await second.hello();
        expect(recovery).toMatchObject({ recoveredExecutionStateCount: 2, requeuedRenewalJobCount: 2, interruptedRequestCount: 2 });
        expect(recovery.recoveryNextAttemptAt).toBeGreaterThanOrEqual(beforeRestart + 90_000);
        expect(recovery.recoveryNextAttemptAt).toBe(recovery.startedAt + 90_000);
        expect((await second.request('status.get', {})).recovery).toEqual(recovery);
        expect((await second.request('journal.get', { requestId: 'flying-1' })).entry).toMatchObject({ outcome: 'interrupted', errorCode: 'interrupted' });
        expect((await second.request('journal.get', { requestId: 'landed' })).entry?.outcome).toBe('success');
        const check = openArtifactDb(dataDir);
        try {
          const renewals = new RenewalStore(check.sqlite);
          expect(renewals.get(soonJob)).toMatchObject({ status: 'pending', nextAttemptAt: recovery.startedAt + 90_000, startedAt: null });
          expect(renewals.get(farJob)).toMatchObject({ status: 'pending', nextAttemptAt: FAR_FUTURE });
          expect(new ConversationStore(check.sqlite).get('busy-2')?.executionState).toBe('idle');
        } finally {
          check.close();
        }
        second.closeStdin();
        expect((await second.exited).code).toBe(0);
      } finally {
        await second.dispose();
      }

      const third = startHost({ dataDir });
      try {
        expect((await third.hello()).recovery).toMatchObject({ recoveredExecutionStateCount: 0, requeuedRenewalJobCount: 0, interruptedRequestCount: 0, recoveryNextAttemptAt: null });
      } finally {
        await third.dispose();
      }
    } finally {
      await first.dispose();
    }
  });

  for (let from = 1; from < LATEST_SCHEMA_VERSION; from++) {
    it(`migrates a data dir left at schema version ${from} on start and serves it`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'cfx-migrate-'));
      const old = openArtifactDb(dataDir, { migrations: MIGRATIONS.slice(0, from) });
      expect(old.schemaVersion).toBe(from);
      old.sqlite
        .prepare("INSERT INTO browser_request_policy_state (kind, key, value, updated_at) VALUES ('target', 'claude/old', ?, 1)")
        .run(JSON.stringify(persistedTarget('claude', 'old')));
      old.close();
      const host = startHost({ dataDir });
      try {
        const hello = await host.hello();
        expect(hello.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
        expect((await host.request('policy.load', { cursor: null, limit: 10 })).targets).toEqual([persistedTarget('claude', 'old')]);
      } finally {
        await host.dispose();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
