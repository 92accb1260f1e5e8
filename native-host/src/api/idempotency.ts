import { createHash } from 'node:crypto';
import type { Admission } from '../../../shared/admission.js';
import { ConductorError, ErrorCodeSchema } from '../../../shared/errors.js';
import { type JournalEntry, journalPath } from '../../../shared/journal.js';
import type { RelayRequest } from '../../../shared/relay.js';
import type { JournalAccess } from './context.js';

/** What the journal keeps of a request, and so what a repeat is compared on. */
export type RequestIdentity = Pick<JournalEntry, 'platform' | 'clientId' | 'method' | 'path'>;

/** How a finished request is answered again: its status and admission, or its error. */
export type Replay = { ok: true; status: number; admission: Admission } | { ok: false; error: ConductorError };

/** What to do with a request id. */
export type Lookup<Run> = { kind: 'fresh' } | { kind: 'join'; run: Run } | { kind: 'replay'; replay: Replay };

/** Recently settled runs kept to bridge the moment before the add-on's outcome row lands. */
const MAX_SETTLED = 1_000;

/** The identity of a relay request as the journal would record it. */
export function identityOf(request: RelayRequest): RequestIdentity {
  return { platform: request.platform, clientId: request.clientId, method: request.method, path: journalPath(request.path) };
}

function sameIdentity(a: RequestIdentity, b: RequestIdentity): boolean {
  return a.platform === b.platform && a.clientId === b.clientId && a.method === b.method && a.path === b.path;
}

/** Everything that makes two in-flight requests the same request (the body by digest). */
export function fingerprintOf(request: RelayRequest): string {
  const headers = Object.entries(request.headers)
    .map(([k, v]) => [k.toLowerCase(), v])
    .sort(([a], [b]) => (a! < b! ? -1 : 1));
  const body = request.body === null ? null : createHash('sha256').update(request.body).digest('hex');
  const { platform, clientId, container, method, path, stream, maxWaitMs } = request;
  return JSON.stringify([platform, clientId, container, method, path, headers, body, stream, maxWaitMs]);
}

function duplicate(requestId: string): ConductorError {
  return new ConductorError('duplicate_request', `request id ${requestId} is already known with different parameters`, { request_id: requestId });
}

function interrupted(entry: JournalEntry): ConductorError {
  return new ConductorError('interrupted', `request ${entry.requestId} was in flight when the browser or host stopped; its outcome is unknown and it is not sent again`, {
    request_id: entry.requestId,
    replayed: true,
  });
}

/** The answer a finished journal row gives to a repeat of its request. */
export function replayOf(entry: JournalEntry): Replay {
  const details = { request_id: entry.requestId, replayed: true, outcome: entry.outcome, http_status: entry.httpStatus };
  if (entry.outcome === 'success') {
    if (entry.httpStatus === null || entry.admission === null) {
      return { ok: false, error: new ConductorError('internal_error', `the journal row of ${entry.requestId} lacks its status or admission`, details) };
    }
    return { ok: true, status: entry.httpStatus, admission: entry.admission };
  }
  const code = ErrorCodeSchema.safeParse(entry.errorCode);
  const error = code.success
    ? new ConductorError(code.data, `request ${entry.requestId} already finished as ${entry.outcome} (${code.data}); not sent again`, details)
    : new ConductorError('internal_error', `request ${entry.requestId} already finished as ${entry.outcome}; not sent again`, details);
  return { ok: false, error };
}

/**
 * Request ids as idempotency keys. In flight in this process: join the run (same parameters)
 * or duplicate_request. Otherwise the journal decides: no row, or `rejected` (nothing was
 * dispatched) → send afresh; `success`/`failure`/`cancelled` → replay the recorded outcome;
 * `interrupted` → 409, never re-sent; `admitted` with nothing in flight here → the run that just
 * settled (its outcome row may not have landed yet), else interrupted.
 */
export class IdempotencyRegistry<Run extends { readonly fingerprint: string }> {
  private readonly inFlight = new Map<string, Run>();
  private readonly settled = new Map<string, { identity: RequestIdentity; replay: Replay }>();

  constructor(private readonly journal: Pick<JournalAccess, 'get'>) {}

  /** Decides what a request with this id gets; throws duplicate_request or interrupted. */
  lookup(request: RelayRequest, fingerprint: string): Lookup<Run> {
    const running = this.inFlight.get(request.requestId);
    if (running !== undefined) {
      if (running.fingerprint !== fingerprint) throw duplicate(request.requestId);
      return { kind: 'join', run: running };
    }
    const identity = identityOf(request);
    const entry = this.journal.get(request.requestId);
    const settled = this.settled.get(request.requestId);
    if (entry === null) return { kind: 'fresh' };
    if (!sameIdentity(entry, identity)) throw duplicate(request.requestId);
    switch (entry.outcome) {
      case 'rejected':
        return { kind: 'fresh' };
      case 'interrupted':
        throw interrupted(entry);
      case 'admitted':
        if (settled !== undefined && sameIdentity(settled.identity, identity)) return { kind: 'replay', replay: settled.replay };
        throw interrupted(entry);
      default:
        return { kind: 'replay', replay: replayOf(entry) };
    }
  }

  /** Registers a fresh run under its request id. */
  begin(requestId: string, run: Run): void {
    this.inFlight.set(requestId, run);
  }

  /** Moves a run out of flight, remembering how it ended. */
  finish(requestId: string, identity: RequestIdentity, replay: Replay): void {
    this.inFlight.delete(requestId);
    this.settled.delete(requestId);
    this.settled.set(requestId, { identity, replay });
    if (this.settled.size > MAX_SETTLED) this.settled.delete(this.settled.keys().next().value as string);
  }

  /** Number of runs in flight (for tests and status). */
  get inFlightCount(): number {
    return this.inFlight.size;
  }
}
