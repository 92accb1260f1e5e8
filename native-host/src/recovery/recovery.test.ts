import { beforeEach, describe, expect, it } from 'vitest';
import { journalEntry } from '../../../test/host/fixtures.js';
import { useTempDb } from '../../../test/host/temp-store.js';
import { ConversationStore, type Conversation } from '../store/conversation-store.js';
import { JournalStore } from '../store/journal-store.js';
import { RenewalStore, type RenewalJob } from '../store/renewal-store.js';
import { runRecovery } from './recovery.js';

const NOW = 1_800_000_000_000;
const DELAY = 60_000;

const db = useTempDb();
let conversations: ConversationStore;
let renewals: RenewalStore;
let journal: JournalStore;

beforeEach(() => {
  conversations = new ConversationStore(db().sqlite);
  renewals = new RenewalStore(db().sqlite);
  journal = new JournalStore(db().sqlite);
});

function conversation(id: string, executionState: Conversation['executionState']): Conversation {
  return { id, platform: 'claude', clientId: 'c', automationStatus: 'auto', executionState, pauseReason: null, lastError: null, createdAt: 1, updatedAt: 1 };
}

function job(status: RenewalJob['status'], nextAttemptAt: number | null): Omit<RenewalJob, 'id'> {
  return { conversationId: 'conv-idle', status, attemptCount: 2, nextAttemptAt, startedAt: status === 'running' ? NOW - 5_000 : null, finishedAt: null, createdAt: 1, updatedAt: 1 };
}

const recover = () => runRecovery(db().sqlite, { now: () => NOW, monotonicMs: () => 0, renewalRecoveryDelayMs: DELAY });

describe('runRecovery', () => {
  it('reports zero work on an empty DB', () => {
    expect(recover()).toEqual({
      startedAt: NOW,
      durationMs: 0,
      recoveredExecutionStateCount: 0,
      requeuedRenewalJobCount: 0,
      interruptedRequestCount: 0,
      requeuedJobCount: 0,
      failedJobCount: 0,
      recoveryNextAttemptAt: null,
    });
  });

  it('marks journal rows still admitted as interrupted and leaves finished ones alone', () => {
    journal.record([journalEntry('in-flight'), journalEntry('done', { outcome: 'success', httpStatus: 200, finishedAt: 2_000 })]);
    expect(recover().interruptedRequestCount).toBe(1);
    expect(journal.get('in-flight')).toMatchObject({ outcome: 'interrupted', errorCode: 'interrupted', finishedAt: null });
    expect(journal.get('done')).toMatchObject({ outcome: 'success', errorCode: null });
  });

  it('puts busy conversations back to idle and keeps their automation status', () => {
    for (const c of [conversation('conv-idle', 'idle'), conversation('conv-renewing', 'renewal_running'), conversation('conv-instructing', 'instruction_running')]) {
      conversations.insert(c);
    }
    expect(recover().recoveredExecutionStateCount).toBe(2);
    expect(conversations.get('conv-renewing')).toMatchObject({ executionState: 'idle', automationStatus: 'auto', updatedAt: NOW });
    expect(conversations.get('conv-instructing')?.executionState).toBe('idle');
    expect(conversations.get('conv-idle')).toEqual(conversation('conv-idle', 'idle'));
  });

  it('re-queues running renewal jobs no sooner than now + the delay, keeping a later own time', () => {
    conversations.insert(conversation('conv-idle', 'idle'));
    const soon = renewals.insert(job('running', NOW + 1_000));
    const later = renewals.insert(job('running', NOW + 3_600_000));
    const unset = renewals.insert(job('running', null));
    const pending = renewals.insert(job('pending', NOW + 5));
    const done = renewals.insert({ ...job('done', null), finishedAt: NOW - 1 });
    const report = recover();
    expect(report.requeuedRenewalJobCount).toBe(3);
    expect(report.recoveryNextAttemptAt).toBe(NOW + DELAY);
    expect(renewals.get(soon)).toMatchObject({ status: 'pending', nextAttemptAt: NOW + DELAY, startedAt: null, finishedAt: null, attemptCount: 2 });
    expect(renewals.get(later)).toMatchObject({ status: 'pending', nextAttemptAt: NOW + 3_600_000, startedAt: null });
    expect(renewals.get(unset)?.nextAttemptAt).toBe(NOW + DELAY);
    expect(renewals.get(pending)).toMatchObject({ status: 'pending', nextAttemptAt: NOW + 5 });
    expect(renewals.get(done)).toMatchObject({ status: 'done', finishedAt: NOW - 1 });
  });

  it('reports the earliest re-queued attempt when every running job has a later own time', () => {
    conversations.insert(conversation('conv-idle', 'idle'));
    renewals.insert(job('running', NOW + 7_200_000));
    renewals.insert(job('running', NOW + 3_600_000));
    expect(recover().recoveryNextAttemptAt).toBe(NOW + 3_600_000);
  });

  it('is idempotent: a second run finds nothing left to recover', () => {
    conversations.insert(conversation('conv-idle', 'renewal_running'));
    renewals.insert(job('running', null));
    journal.record([journalEntry('x')]);
    recover();
    expect(recover()).toMatchObject({ recoveredExecutionStateCount: 0, requeuedRenewalJobCount: 0, interruptedRequestCount: 0, recoveryNextAttemptAt: null });
  });

  it('reads every table through an index, never a full scan', () => {
    const plans = [
      "SELECT 1 FROM request_journal WHERE outcome = 'admitted'",
      "SELECT 1 FROM local_conversations WHERE execution_state <> 'idle'",
      "SELECT MIN(MAX(COALESCE(next_attempt_at, 0), 5)) FROM renewal_jobs WHERE status = 'running'",
    ].map((sql) => (db().sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; '));
    expect(plans[0]).toMatch(/USING (COVERING )?INDEX request_journal_admitted/);
    expect(plans[1]).toMatch(/USING (COVERING )?INDEX local_conversations_busy/);
    expect(plans[2]).toMatch(/USING (COVERING )?INDEX renewal_jobs_running/);
  });
});
