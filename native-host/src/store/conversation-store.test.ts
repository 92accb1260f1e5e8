import { describe, expect, it } from 'vitest';
import { useTempDb } from '../../../test/host/temp-store.js';
import { ConversationStore, type Conversation } from './conversation-store.js';

const db = useTempDb();

const conv: Conversation = { id: 'c1', platform: 'claude', clientId: 'a', automationStatus: 'paused', executionState: 'instruction_running', pauseReason: 'user', lastError: 'upstream_5xx', createdAt: 1, updatedAt: 2 };

describe('ConversationStore', () => {
  it('stores a conversation and reads it back', () => {
    const store = new ConversationStore(db().sqlite);
    store.insert(conv);
    expect(store.get('c1')).toEqual(conv);
    expect(store.get('c2')).toBeNull();
  });

  it('refuses an unknown execution state and a message for a missing conversation', () => {
    const store = new ConversationStore(db().sqlite);
    expect(() => store.insert({ ...conv, executionState: 'busy' as never })).toThrow(expect.objectContaining({ code: 'db_error' }));
    expect(() => store.addMessage('missing', 'user', 'hi', 1)).toThrow(expect.objectContaining({ code: 'db_error' }));
    store.insert(conv);
    store.addMessage('c1', 'user', 'hi', 1);
    expect(db().sqlite.prepare('SELECT COUNT(*) AS n FROM messages').get()).toEqual({ n: 1 });
  });
});
