import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import type { JournalEntry } from '../../../shared/journal.js';
import { JournalWriter, type JournalHost } from './journal-writer.js';

function entry(requestId: string, outcome: JournalEntry['outcome'] = 'success'): JournalEntry {
  return { requestId, clientId: 'c', platform: 'claude', method: 'POST', path: '/api', outcome, createdAt: 1, admittedAt: null, finishedAt: 2, httpStatus: null, errorCode: null, admission: null };
}

class Host implements JournalHost {
  connected = true;
  fail = false;
  readonly batches: string[][] = [];
  async request(_type: string, payload: unknown): Promise<never> {
    if (!this.connected || this.fail) throw new ConductorError('host_unavailable', 'gone');
    this.batches.push((payload as { entries: JournalEntry[] }).entries.map((e) => `${e.requestId}:${e.outcome}`));
    return { recorded: 1 } as never;
  }
}

describe('JournalWriter', () => {
  it('fails a write-ahead when the host cannot commit it, and keeps nothing', async () => {
    const host = new Host();
    host.connected = false;
    const journal = new JournalWriter(host);
    await expect(journal.writeAhead(entry('a', 'admitted'))).rejects.toMatchObject({ code: 'host_unavailable' });
    expect(journal.queued).toBe(0);
  });

  it('queues rows while the host is away and flushes them in order, the latest row per request', async () => {
    const host = new Host();
    const journal = new JournalWriter(host);
    await journal.record(entry('a'));
    host.connected = false;
    await journal.record(entry('b', 'rejected'));
    await journal.record(entry('c', 'cancelled'));
    await journal.record(entry('b', 'failure'));
    expect(journal.queued).toBe(2);
    host.connected = true;
    await journal.flush();
    expect(host.batches).toEqual([['a:success'], ['c:cancelled', 'b:failure']]);
    expect(journal.queued).toBe(0);
  });

  it('keeps queued rows when a flush fails, and bounds the queue', async () => {
    const host = new Host();
    host.fail = true;
    const journal = new JournalWriter(host, 2);
    await journal.record(entry('a'));
    await journal.record(entry('b'));
    await journal.record(entry('c'));
    expect(journal.lost).toBe(1);
    await journal.flush();
    expect(journal.queued).toBe(2);
    host.fail = false;
    await journal.flush();
    expect(host.batches).toEqual([['b:success', 'c:success']]);
  });

  it('keeps a row that arrives while a batch is in flight, even when it supersedes a row of that batch', async () => {
    const host = new Host();
    host.connected = false;
    const journal = new JournalWriter(host);
    await journal.record(entry('a', 'rejected'));
    await journal.record(entry('b', 'rejected'));
    host.connected = true;
    const flushing = journal.flush();
    // The batch [a, b] is on its way to the host; a retry of `a` ends meanwhile.
    await journal.record(entry('a', 'cancelled'));
    await flushing;
    await journal.flush();
    expect(host.batches.flat()).toEqual(['a:rejected', 'b:rejected', 'a:cancelled']);
    expect(journal.queued).toBe(0);
  });
});
