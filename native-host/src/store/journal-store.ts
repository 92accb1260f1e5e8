import { type JournalEntry, type JournalOutcome, journalPath } from '../../../shared/journal.js';
import type { JournalAccess } from '../api/context.js';
import { guarded, inTransaction, type Sqlite, type Statement } from './db.js';

interface JournalRow {
  request_id: string;
  client_id: string;
  platform: string;
  method: JournalEntry['method'];
  path: string;
  outcome: JournalOutcome;
  created_at: number;
  admitted_at: number | null;
  finished_at: number | null;
  http_status: number | null;
  error_code: string | null;
  admission_at: number | null;
  queue_delay_ms: number | null;
  backoff_delay_ms: number | null;
  rate_limit_delay_ms: number | null;
  jitter_delay_ms: number | null;
  probe: number | null;
}

const COLUMNS =
  'request_id, client_id, platform, method, path, outcome, created_at, admitted_at, finished_at, http_status, error_code, ' +
  'admission_at, queue_delay_ms, backoff_delay_ms, rate_limit_delay_ms, jitter_delay_ms, probe';

/**
 * The request journal (request_journal): one row per request id, written ahead as `admitted`
 * before a dispatch and overwritten with the outcome after it. Holds no headers or bodies.
 */
export class JournalStore implements JournalAccess {
  private readonly upsert;
  private readonly byId;
  /** One prepared list query per filter combination, so each can use its index. */
  private readonly listQueries = new Map<string, Statement<ListParams, JournalRow>>();

  constructor(private readonly sqlite: Sqlite) {
    // created_at stays the first write's; an `admitted` arriving after the outcome (a reordered
    // retry) never turns a finished request back into an in-flight one.
    this.upsert = sqlite.prepare<JournalRow>(
      `INSERT INTO request_journal (${COLUMNS}) VALUES (${COLUMNS.split(', ').map((c) => `@${c}`).join(', ')})
       ON CONFLICT (request_id) DO UPDATE SET
         client_id = excluded.client_id, platform = excluded.platform, method = excluded.method, path = excluded.path,
         outcome = excluded.outcome, admitted_at = excluded.admitted_at, finished_at = excluded.finished_at,
         http_status = excluded.http_status, error_code = excluded.error_code, admission_at = excluded.admission_at,
         queue_delay_ms = excluded.queue_delay_ms, backoff_delay_ms = excluded.backoff_delay_ms,
         rate_limit_delay_ms = excluded.rate_limit_delay_ms, jitter_delay_ms = excluded.jitter_delay_ms, probe = excluded.probe
       WHERE request_journal.outcome = 'admitted' OR excluded.outcome <> 'admitted'`,
    );
    this.byId = sqlite.prepare<[string], JournalRow>(`SELECT ${COLUMNS} FROM request_journal WHERE request_id = ?`);
  }

  /** Upserts the entries by request id in one transaction; committed when this returns. */
  record(entries: JournalEntry[]): void {
    inTransaction(this.sqlite, 'record journal entries', () => {
      for (const entry of entries) this.upsert.run(toRow(entry));
    });
  }

  /** The entry of one request id, or null. */
  get(requestId: string): JournalEntry | null {
    const row = guarded('read the journal', () => this.byId.get(requestId));
    return row === undefined ? null : fromRow(row);
  }

  /** The newest entries first, optionally of one platform and one outcome. */
  list(query: { limit: number; platform: string | null; outcome?: JournalOutcome }): JournalEntry[] {
    const params: ListParams = { limit: query.limit, platform: query.platform, outcome: query.outcome ?? null };
    const filters = [params.platform === null ? null : 'platform = @platform', params.outcome === null ? null : 'outcome = @outcome'].filter(
      (f): f is string => f !== null,
    );
    const shape = filters.join(' AND ');
    let statement = this.listQueries.get(shape);
    if (statement === undefined) {
      const where = shape === '' ? '' : `WHERE ${shape}`;
      statement = this.sqlite.prepare<ListParams, JournalRow>(
        `SELECT ${COLUMNS} FROM request_journal ${where} ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
      );
      this.listQueries.set(shape, statement);
    }
    const rows = guarded('read the journal', () => (statement as Statement<ListParams, JournalRow>).all(params));
    return rows.map(fromRow);
  }
}

interface ListParams {
  limit: number;
  platform: string | null;
  outcome: JournalOutcome | null;
}

function toRow(e: JournalEntry): JournalRow {
  const a = e.admission;
  return {
    request_id: e.requestId,
    client_id: e.clientId,
    platform: e.platform,
    method: e.method,
    // The last line of defence: the add-on strips the query too, but the store is what keeps it.
    path: journalPath(e.path),
    outcome: e.outcome,
    created_at: e.createdAt,
    admitted_at: e.admittedAt,
    finished_at: e.finishedAt,
    http_status: e.httpStatus,
    error_code: e.errorCode,
    admission_at: a?.admittedAt ?? null,
    queue_delay_ms: a?.queueDelayMs ?? null,
    backoff_delay_ms: a?.backoffDelayMs ?? null,
    rate_limit_delay_ms: a?.rateLimitDelayMs ?? null,
    jitter_delay_ms: a?.jitterDelayMs ?? null,
    probe: a === null ? null : a.probe ? 1 : 0,
  };
}

function fromRow(r: JournalRow): JournalEntry {
  return {
    requestId: r.request_id,
    clientId: r.client_id,
    platform: r.platform,
    method: r.method,
    path: r.path,
    outcome: r.outcome,
    createdAt: r.created_at,
    admittedAt: r.admitted_at,
    finishedAt: r.finished_at,
    httpStatus: r.http_status,
    errorCode: r.error_code,
    admission:
      r.admission_at === null
        ? null
        : {
            admittedAt: r.admission_at,
            queueDelayMs: r.queue_delay_ms ?? 0,
            backoffDelayMs: r.backoff_delay_ms ?? 0,
            rateLimitDelayMs: r.rate_limit_delay_ms ?? 0,
            jitterDelayMs: r.jitter_delay_ms ?? 0,
            probe: r.probe === 1,
          },
  };
}
