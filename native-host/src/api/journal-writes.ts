import type { ErrorCode } from '../../../shared/errors.js';
import { type JournalEntry, type JournalOutcome, journalPath } from '../../../shared/journal.js';
import type { RelayRequest } from '../../../shared/relay.js';
import type { JournalAccess } from './context.js';

function entry(request: RelayRequest, outcome: JournalOutcome, code: ErrorCode, now: number): JournalEntry {
  return {
    requestId: request.requestId,
    clientId: request.clientId,
    platform: request.platform,
    method: request.method,
    path: journalPath(request.path),
    outcome,
    createdAt: now,
    admittedAt: null,
    finishedAt: now,
    httpStatus: null,
    errorCode: code,
    admission: null,
  };
}

/** Records a rejection the API made itself, before anything reached the add-on. */
export function recordApiRejection(journal: JournalAccess, request: RelayRequest, code: ErrorCode, now: number): void {
  journal.record([entry(request, 'rejected', code, now)]);
}

/**
 * Records how a dispatched relay ended when the add-on went away mid-flight and so cannot
 * record it: an admitted row becomes `interrupted` (it may have reached the platform), no row
 * becomes `rejected`. A row the add-on already finished is left alone.
 */
export function recordLinkLoss(journal: JournalAccess, request: RelayRequest, now: number): void {
  const existing = journal.get(request.requestId);
  if (existing === null) journal.record([entry(request, 'rejected', 'extension_unavailable', now)]);
  else if (existing.outcome === 'admitted') {
    journal.record([{ ...existing, outcome: 'interrupted', finishedAt: now, errorCode: 'extension_unavailable' }]);
  }
}
