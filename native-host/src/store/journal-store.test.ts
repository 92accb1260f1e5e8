import { beforeEach, describe, expect, it } from 'vitest';
import { JournalEntrySchema } from '../../../shared/journal.js';
import { journalEntry } from '../../../test/host/fixtures.js';
import { useTempDb } from '../../../test/host/temp-store.js';
import { JournalStore } from './journal-store.js';

const db = useTempDb();
let journal: JournalStore;
beforeEach(() => {
  journal = new JournalStore(db().sqlite);
});

describe('JournalStore', () => {
  it('stores an entry and reads it back field for field', () => {
    const entry = journalEntry('r-1');
    journal.record([entry]);
    expect(journal.get('r-1')).toEqual(entry);
    expect(JournalEntrySchema.parse(journal.get('r-1'))).toEqual(entry);
    expect(journal.get('unknown')).toBeNull();
  });

  it('never stores a query string or fragment, whoever sent the path (queries can carry tokens)', () => {
    journal.record([journalEntry('q-1', { path: '/api/chat?access_token=s3cret#frag' })]);
    expect(journal.get('q-1')?.path).toBe('/api/chat');
    expect(JSON.stringify(db().sqlite.prepare('SELECT * FROM request_journal').all())).not.toContain('s3cret');
  });

  it('keeps a null admission null, and a probe flag true', () => {
    journal.record([journalEntry('rej', { outcome: 'rejected', admittedAt: null, admission: null, errorCode: 'rate_limited' })]);
    journal.record([journalEntry('probe', { admission: { admittedAt: 5, queueDelayMs: 0, backoffDelayMs: 0, rateLimitDelayMs: 0, jitterDelayMs: 0, probe: true } })]);
    expect(journal.get('rej')).toMatchObject({ admission: null, errorCode: 'rate_limited' });
    expect(journal.get('probe')?.admission?.probe).toBe(true);
  });

  it('upserts by request id: the outcome replaces the written-ahead row, created_at stays', () => {
    journal.record([journalEntry('r-1')]);
    journal.record([journalEntry('r-1', { outcome: 'success', createdAt: 9_999, finishedAt: 2_000, httpStatus: 200 })]);
    expect(journal.get('r-1')).toEqual(journalEntry('r-1', { outcome: 'success', finishedAt: 2_000, httpStatus: 200 }));
    expect(db().sqlite.prepare('SELECT COUNT(*) AS n FROM request_journal').get()).toEqual({ n: 1 });
  });

  it('never turns a finished request back into an admitted one', () => {
    journal.record([journalEntry('r-1', { outcome: 'failure', errorCode: 'upstream_5xx' })]);
    journal.record([journalEntry('r-1')]);
    expect(journal.get('r-1')?.outcome).toBe('failure');
  });

  it('lists newest first, limited, and filtered by platform and outcome', () => {
    journal.record([
      journalEntry('a', { createdAt: 1, platform: 'claude' }),
      journalEntry('b', { createdAt: 3, platform: 'chatgpt', outcome: 'success' }),
      journalEntry('c', { createdAt: 2, platform: 'claude', outcome: 'success' }),
      journalEntry('d', { createdAt: 3, platform: 'claude' }),
    ]);
    expect(journal.list({ limit: 10, platform: null }).map((e) => e.requestId)).toEqual(['d', 'b', 'c', 'a']);
    expect(journal.list({ limit: 2, platform: null }).map((e) => e.requestId)).toEqual(['d', 'b']);
    expect(journal.list({ limit: 10, platform: 'claude' }).map((e) => e.requestId)).toEqual(['d', 'c', 'a']);
    expect(journal.list({ limit: 10, platform: null, outcome: 'success' }).map((e) => e.requestId)).toEqual(['b', 'c']);
    expect(journal.list({ limit: 10, platform: 'claude', outcome: 'success' }).map((e) => e.requestId)).toEqual(['c']);
  });

  it('records a batch all or nothing', () => {
    db().sqlite.exec("CREATE TRIGGER refuse BEFORE INSERT ON request_journal WHEN NEW.request_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    expect(() => journal.record([journalEntry('ok'), journalEntry('bad')])).toThrow(expect.objectContaining({ code: 'db_error' }));
    expect(journal.get('ok')).toBeNull();
  });
});
