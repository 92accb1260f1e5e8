import { describe, expect, it } from 'vitest';
import type { RelayRequest } from '../../../shared/relay.js';
import { ADMISSION, MemoryJournal } from '../../../test/api/fakes.js';
import { recordApiRejection, recordLinkLoss } from './journal-writes.js';

const request: RelayRequest = { requestId: 'r-1', platform: 'mock', clientId: 'a', container: 'firefox-default', method: 'POST', path: '/chat?key=secret#x', headers: { authorization: 'x' }, body: 'prompt', stream: false, maxWaitMs: null };

describe('journal writes of the API', () => {
  it('records its own rejection without query, headers or body', () => {
    const journal = new MemoryJournal();
    recordApiRejection(journal, request, 'extension_unavailable', 5);
    expect(journal.get('r-1')).toEqual({ requestId: 'r-1', clientId: 'a', platform: 'mock', method: 'POST', path: '/chat', outcome: 'rejected', createdAt: 5, admittedAt: null, finishedAt: 5, httpStatus: null, errorCode: 'extension_unavailable', admission: null });
  });

  it('turns an admitted row into interrupted when the add-on is lost, and leaves a finished one alone', () => {
    const journal = new MemoryJournal();
    const admitted = { requestId: 'r-1', clientId: 'a', platform: 'mock', method: 'POST' as const, path: '/chat', outcome: 'admitted' as const, createdAt: 1, admittedAt: 2, finishedAt: null, httpStatus: null, errorCode: null, admission: ADMISSION };
    journal.record([admitted]);
    recordLinkLoss(journal, request, 9);
    expect(journal.get('r-1')).toEqual({ ...admitted, outcome: 'interrupted', finishedAt: 9, errorCode: 'extension_unavailable' });
    const finished = { ...admitted, outcome: 'success' as const, httpStatus: 200, finishedAt: 3 };
    journal.record([finished]);
    recordLinkLoss(journal, request, 10);
    expect(journal.get('r-1')).toEqual(finished);
  });

  it('records a lost request the add-on never admitted as rejected', () => {
    const journal = new MemoryJournal();
    recordLinkLoss(journal, request, 7);
    expect(journal.get('r-1')).toMatchObject({ outcome: 'rejected', errorCode: 'extension_unavailable', finishedAt: 7 });
  });
});
