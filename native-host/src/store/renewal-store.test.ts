import { beforeEach, describe, expect, it } from 'vitest';
import { useTempDb } from '../../../test/host/temp-store.js';
import { ConversationStore } from './conversation-store.js';
import { RenewalStore } from './renewal-store.js';

const db = useTempDb();
beforeEach(() => {
  new ConversationStore(db().sqlite).insert({ id: 'c1', platform: 'claude', clientId: 'a', automationStatus: 'auto', executionState: 'idle', pauseReason: null, lastError: null, createdAt: 1, updatedAt: 1 });
});

describe('RenewalStore', () => {
  it('stores jobs with their own ids and reads them back', () => {
    const store = new RenewalStore(db().sqlite);
    const job = { conversationId: 'c1', status: 'running' as const, attemptCount: 1, nextAttemptAt: 50, startedAt: 40, finishedAt: null, createdAt: 1, updatedAt: 2 };
    const first = store.insert(job);
    const second = store.insert({ ...job, status: 'pending' });
    expect(second).not.toBe(first);
    expect(store.get(first)).toEqual({ id: first, ...job });
    expect(store.get(second)?.status).toBe('pending');
    expect(store.get(999)).toBeNull();
  });

  it('refuses a job whose conversation does not exist (foreign keys are on)', () => {
    const store = new RenewalStore(db().sqlite);
    expect(() => store.insert({ conversationId: 'nope', status: 'pending', attemptCount: 0, nextAttemptAt: null, startedAt: null, finishedAt: null, createdAt: 1, updatedAt: 1 })).toThrow(
      expect.objectContaining({ code: 'db_error' }),
    );
  });
});
