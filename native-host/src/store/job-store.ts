import { createHash } from 'node:crypto';
import { ConductorError, ErrorCodeSchema } from '../../../shared/errors.js';
import type { HttpMethod } from '../../../shared/journal.js';
import {
  type ApiJob,
  type ApiJobDetail,
  type ApiJobListQuery,
  type ApiJobListResponse,
  type ApiJobRequest,
  type AttemptOutcome,
  type JobAttempt,
  type JobResult,
  type JobStatus,
} from '../../../shared/jobs.js';
import { type JobSendable, jobFingerprint, jobTargetKey } from '../jobs/job-request.js';
import type { ConversationStore } from './conversation-store.js';
import { guarded, inTransaction, type Sqlite, type Statement } from './db.js';

interface JobRow {
  id: string;
  seq: number;
  kind: ApiJob['kind'];
  idempotency_key: string | null;
  fingerprint: string;
  target_key: string;
  platform: string;
  client_id: string;
  container: string | null;
  conversation_id: string | null;
  method: HttpMethod;
  path: string;
  headers: string;
  body: string | null;
  stream: number;
  max_wait_ms: number | null;
  status: JobStatus;
  not_before: number;
  deadline: number | null;
  max_attempts: number;
  on_interrupt: ApiJob['on_interrupt'];
  attempt_count: number;
  next_attempt_at: number;
  response_status: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

interface AttemptRow {
  attempt: number;
  request_id: string;
  outcome: AttemptOutcome;
  started_at: number;
  finished_at: number | null;
  http_status: number | null;
  error_code: string | null;
  error_message: string | null;
  retry_after_ms: number | null;
}

/** A job taken for an attempt: what to send, and which attempt this is. */
export interface StartedAttempt {
  job: JobSendable & { conversation_id: string | null; kind: ApiJob['kind'] };
  attempt: number;
  /** Attempts counted against max_attempts before this one. */
  countedBefore: number;
}

/** How an attempt ended, as the dispatcher decided it (see jobs/attempt-outcome.ts). */
export type AttemptEnd =
  | { outcome: 'done'; httpStatus: number; body: string }
  | { outcome: 'refused' | 'failed'; error: ConductorError; retryAt: number | null; retryAfterMs: number | null };

/** Limits on what the jobs store keeps. */
export interface JobLimits {
  /** Largest stored answer per job; longer ones are cut and marked truncated. */
  resultMaxBytes: number;
}

/** Finished jobs deleted per step while the DB is over its size cap: small, so it ends just under the cap. */
const PRUNE_BATCH = 10;

/** Bytes the DB's pages hold (free pages excluded: SQLite reuses them before growing the file). */
function usedBytes(sqlite: Sqlite): number {
  const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
  const pages = sqlite.pragma('page_count', { simple: true }) as number;
  const free = sqlite.pragma('freelist_count', { simple: true }) as number;
  return (pages - free) * pageSize;
}

/** The longest error message kept on a job or attempt row. */
const ERROR_MESSAGE_MAX = 1_024;

/** `content` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function capUtf8(content: string, maxBytes: number): { text: string; byteLength: number; truncated: boolean } {
  const bytes = Buffer.from(content, 'utf8');
  if (bytes.length <= maxBytes) return { text: content, byteLength: bytes.length, truncated: false };
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that did not fit.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { text: bytes.subarray(0, end).toString('utf8'), byteLength: bytes.length, truncated: true };
}

/** A stored error code and message as the API's {code, message}; null when none (or not a known code). */
function errorSummary(code: string | null, message: string | null): ApiJob['last_error'] {
  const known = ErrorCodeSchema.safeParse(code);
  return known.success ? { code: known.data, message: message ?? '' } : null;
}

function toApiJob(row: JobRow): ApiJob {
  // Everything but what stays in the host: the request's headers and body, and the queue's bookkeeping.
  const { id, seq: _seq, fingerprint: _fingerprint, target_key: _target, headers: _headers, body: _body, stream: _stream, max_wait_ms: _wait, last_error_code, last_error_message, next_attempt_at, ...shown } = row;
  return { job_id: id, ...shown, next_attempt_at: row.status === 'pending' ? next_attempt_at : null, last_error: errorSummary(last_error_code, last_error_message) };
}

function toAttempt(row: AttemptRow): JobAttempt {
  return {
    attempt: row.attempt,
    request_id: row.request_id,
    outcome: row.outcome,
    started_at: row.started_at,
    finished_at: row.finished_at,
    http_status: row.http_status,
    error: errorSummary(row.error_code, row.error_message),
    retry_after_ms: row.retry_after_ms,
  };
}

function sendable(row: JobRow): StartedAttempt['job'] {
  const { id, kind, platform, client_id, container, conversation_id, method, path, body, max_wait_ms, deadline } = row;
  return { id, kind, platform, client_id, container, conversation_id, method, path, body, max_wait_ms, deadline, headers: JSON.parse(row.headers) as Record<string, string>, stream: row.stream === 1 };
}

function clip(message: string): string {
  return message.length <= ERROR_MESSAGE_MAX ? message : `${message.slice(0, ERROR_MESSAGE_MAX - 1)}…`;
}

/**
 * The jobs table, its attempts and its results (in messages). Every state change of a job is one
 * transaction: pending → running (with the attempt row and the conversation's lock), running →
 * done | pending (next attempt) | failed | cancelled (with the lock released), so a crash leaves a
 * job in one whole state that restart recovery knows how to resume.
 */
export class JobStore {
  private readonly byId: Statement<[string], JobRow>;
  private readonly byKey: Statement<[string], JobRow>;
  private readonly insertRow: Statement<JobRow>;
  private readonly attemptsOf: Statement<[string], AttemptRow>;
  private readonly resultOf: Statement<[string], { content: string; byte_length: number; truncated: number }>;
  private readonly nextTarget: Statement<[string], { k: string | null }>;
  private readonly headOf: Statement<[string, number], JobRow>;
  private readonly earliest: Statement<[], { at: number | null }>;
  private readonly listQueries = new Map<string, Statement<Record<string, unknown>, JobRow>>();

  constructor(
    private readonly sqlite: Sqlite,
    private readonly conversations: ConversationStore,
    private readonly limits: JobLimits,
  ) {
    this.byId = sqlite.prepare('SELECT * FROM jobs WHERE id = ?');
    this.byKey = sqlite.prepare('SELECT * FROM jobs WHERE idempotency_key = ?');
    const columns = 'id, seq, kind, idempotency_key, fingerprint, target_key, platform, client_id, container, conversation_id, method, path, headers, body, stream, max_wait_ms, status, not_before, deadline, max_attempts, on_interrupt, attempt_count, next_attempt_at, response_status, last_error_code, last_error_message, created_at, updated_at, finished_at';
    this.insertRow = sqlite.prepare(`INSERT INTO jobs (${columns}) VALUES (${columns.split(', ').map((c) => `@${c}`).join(', ')})`);
    this.attemptsOf = sqlite.prepare('SELECT attempt, request_id, outcome, started_at, finished_at, http_status, error_code, error_message, retry_after_ms FROM job_attempts WHERE job_id = ? ORDER BY attempt');
    this.resultOf = sqlite.prepare('SELECT content, byte_length, truncated FROM messages WHERE job_id = ? ORDER BY id DESC LIMIT 1');
    // One step of a skip-scan over jobs_target_due: the next target after ? that has pending jobs.
    this.nextTarget = sqlite.prepare("SELECT MIN(target_key) AS k FROM jobs WHERE status = 'pending' AND target_key > ?");
    // The target's next due job whose conversation (if any) is neither paused nor locked.
    this.headOf = sqlite.prepare(
      `SELECT * FROM jobs INDEXED BY jobs_target_due
       WHERE status = 'pending' AND target_key = ? AND next_attempt_at <= ?
         AND (conversation_id IS NULL OR conversation_id IN (SELECT id FROM local_conversations WHERE automation_status <> 'paused' AND execution_state = 'idle'))
       ORDER BY next_attempt_at, seq LIMIT 1`,
    );
    this.earliest = sqlite.prepare("SELECT MIN(next_attempt_at) AS at FROM jobs WHERE status = 'pending'");
  }

  /**
   * Stores a submitted job, committed when this returns. With an idempotency key already used:
   * the same job again → that job (`replayed`); different parameters → duplicate_request.
   */
  submit(id: string, request: ApiJobRequest, now: number): { job: ApiJob; replayed: boolean } {
    const fingerprint = jobFingerprint(request);
    return inTransaction(this.sqlite, 'store a job', () => {
      if (request.idempotency_key !== undefined) {
        const known = this.byKey.get(request.idempotency_key);
        if (known !== undefined) {
          if (known.fingerprint !== fingerprint) {
            throw new ConductorError('duplicate_request', `idempotency key ${request.idempotency_key} already names a job with different parameters`, { job_id: known.id });
          }
          return { job: toApiJob(known), replayed: true };
        }
      }
      if (request.conversation_id !== undefined) this.conversations.ensure(request.conversation_id, request.platform, request.client_id, now);
      const seq = (this.sqlite.prepare<[], { s: number | null }>('SELECT MAX(seq) AS s FROM jobs').get()?.s ?? 0) + 1;
      const notBefore = request.not_before ?? now;
      const row: JobRow = {
        id,
        seq,
        kind: request.kind,
        idempotency_key: request.idempotency_key ?? null,
        fingerprint,
        target_key: jobTargetKey(request),
        platform: request.platform,
        client_id: request.client_id,
        container: request.container ?? null,
        conversation_id: request.conversation_id ?? null,
        method: request.method,
        path: request.path,
        headers: JSON.stringify(request.headers),
        body: request.body,
        stream: request.stream ? 1 : 0,
        max_wait_ms: request.max_wait_ms,
        status: 'pending',
        not_before: notBefore,
        deadline: request.deadline ?? null,
        max_attempts: request.max_attempts,
        on_interrupt: request.on_interrupt,
        attempt_count: 0,
        next_attempt_at: Math.max(notBefore, now),
        response_status: null,
        last_error_code: null,
        last_error_message: null,
        created_at: now,
        updated_at: now,
        finished_at: null,
      };
      this.insertRow.run(row);
      return { job: toApiJob(row), replayed: false };
    });
  }

  /** One job with its attempts and stored answer, or null. */
  get(id: string): ApiJobDetail | null {
    return guarded('read a job', () => {
      const row = this.byId.get(id);
      if (row === undefined) return null;
      const result = this.resultOf.get(id);
      const stored: JobResult | null = result === undefined ? null : { body: result.content, byte_length: result.byte_length, truncated: result.truncated === 1 };
      return { ...toApiJob(row), attempts: this.attemptsOf.all(id).map(toAttempt), result: stored };
    });
  }

  /** A page of jobs, newest first, filtered by status, platform and conversation. */
  list(query: ApiJobListQuery & { kind?: ApiJob['kind'] }): ApiJobListResponse {
    const params: Record<string, unknown> = { limit: query.limit + 1, cursor: query.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(query.cursor) };
    const filters = ['seq < @cursor'];
    if (query.status !== undefined) (filters.push('status = @status'), (params['status'] = query.status));
    if (query.platform !== undefined) (filters.push('platform = @platform'), (params['platform'] = query.platform));
    if (query.kind !== undefined) (filters.push('kind = @kind'), (params['kind'] = query.kind));
    if (query.conversation !== undefined) (filters.push('conversation_id = @conversation'), (params['conversation'] = query.conversation));
    const where = filters.join(' AND ');
    let statement = this.listQueries.get(where);
    if (statement === undefined) {
      statement = this.sqlite.prepare(`SELECT * FROM jobs WHERE ${where} ORDER BY seq DESC LIMIT @limit`);
      this.listQueries.set(where, statement);
    }
    const rows = guarded('list jobs', () => statement.all(params));
    const page = rows.slice(0, query.limit);
    return { jobs: page.map(toApiJob), next_cursor: rows.length > query.limit ? String(page[page.length - 1]!.seq) : null };
  }

  /** The targets that have pending jobs: a skip-scan, one index probe per target. */
  pendingTargets(): string[] {
    return guarded('list the targets with pending jobs', () => {
      const keys: string[] = [];
      for (let k = this.nextTarget.get('')?.k ?? null; k !== null; k = this.nextTarget.get(k)?.k ?? null) keys.push(k);
      return keys;
    });
  }

  /** The due job a target would send next (oldest due first), or null. */
  headOfTarget(target: string, now: number): ApiJob | null {
    const row = guarded('pick the next job', () => this.headOf.get(target, now));
    return row === undefined ? null : toApiJob(row);
  }

  /** When the earliest pending job becomes due (null: none pending). */
  earliestDueAt(): number | null {
    return guarded('read the job queue', () => this.earliest.get()?.at ?? null);
  }

  /**
   * Takes a pending job for its next attempt, in one transaction: the job becomes `running`, the
   * attempt row is written, and the conversation's lock is taken. Null when the job is no longer
   * pending or its conversation is paused or locked (nothing is changed then).
   */
  startAttempt(id: string, now: number, requestIdOf: (attempt: number) => string): StartedAttempt | null {
    return inTransaction(this.sqlite, 'start a job attempt', () => {
      const row = this.byId.get(id);
      if (row === undefined || row.status !== 'pending') return null;
      if (row.conversation_id !== null && !this.conversations.lock(row.conversation_id, row.kind === 'renewal' ? 'renewal_running' : 'instruction_running', now)) return null;
      const attempt = (this.sqlite.prepare<[string], { n: number | null }>('SELECT MAX(attempt) AS n FROM job_attempts WHERE job_id = ?').get(id)?.n ?? 0) + 1;
      this.sqlite.prepare("UPDATE jobs SET status = 'running', updated_at = ? WHERE id = ?").run(now, id);
      this.sqlite
        .prepare("INSERT INTO job_attempts (job_id, attempt, request_id, outcome, started_at) VALUES (?, ?, ?, 'running', ?)")
        .run(id, attempt, requestIdOf(attempt), now);
      return { job: sendable(row), attempt, countedBefore: row.attempt_count };
    });
  }

  /**
   * Records how an attempt ended and moves the job on, in one transaction: done (answer stored,
   * capped), pending again at `retryAt`, or failed (attempts used up, deadline, or a fatal error);
   * a job cancelled meanwhile stays cancelled. Returns the job as it now is.
   */
  finishAttempt(id: string, attempt: number, end: AttemptEnd, now: number): ApiJob | null {
    return inTransaction(this.sqlite, 'finish a job attempt', () => {
      const row = this.byId.get(id);
      if (row === undefined) return null;
      const attemptOutcome: AttemptOutcome = end.outcome;
      const error = end.outcome === 'refused' || end.outcome === 'failed' ? end.error : null;
      this.sqlite
        .prepare(
          `UPDATE job_attempts SET outcome = ?, finished_at = ?, http_status = ?, error_code = ?, error_message = ?, retry_after_ms = ?
           WHERE job_id = ? AND attempt = ? AND outcome = 'running'`,
        )
        .run(
          attemptOutcome,
          now,
          end.outcome === 'done' ? end.httpStatus : null,
          error?.code ?? null,
          error === null ? null : clip(error.message),
          end.outcome === 'refused' || end.outcome === 'failed' ? end.retryAfterMs : null,
          id,
          attempt,
        );
      if (row.status !== 'running') return toApiJob(row); // cancelled while in flight: the cancel already moved it
      const counted = row.attempt_count + (end.outcome === 'refused' ? 0 : 1);
      if (row.conversation_id !== null) {
        this.conversations.release(row.conversation_id, now);
        if (end.outcome === 'done') {
          const messageFingerprint = createHash('sha256').update(row.body ?? '').digest('hex');
          this.conversations.recordOutcome(row.conversation_id, { kind: 'done', renewal: row.kind === 'renewal', messageFingerprint }, now);
        } else if (end.outcome === 'failed') {
          this.conversations.recordOutcome(row.conversation_id, { kind: 'failed', error: `${end.error.code}: ${clip(end.error.message)}` }, now);
        }
      }
      if (end.outcome === 'done') {
        const capped = capUtf8(end.body, this.limits.resultMaxBytes);
        this.sqlite
          .prepare("INSERT INTO messages (conversation_id, job_id, role, content, byte_length, truncated, created_at) VALUES (?, ?, 'assistant', ?, ?, ?, ?)")
          .run(row.conversation_id, id, capped.text, capped.byteLength, capped.truncated ? 1 : 0, now);
        this.sqlite
          .prepare("UPDATE jobs SET status = 'done', attempt_count = ?, response_status = ?, last_error_code = NULL, last_error_message = NULL, updated_at = ?, finished_at = ? WHERE id = ?")
          .run(counted, end.httpStatus, now, now, id);
      } else {
        const { error: err, retryAt } = end;
        if (retryAt === null || counted >= row.max_attempts) {
          this.finish(id, 'failed', counted, err, now);
        } else if (row.deadline !== null && retryAt >= row.deadline) {
          this.finish(id, 'failed', counted, new ConductorError('deadline_exceeded', `the next attempt would come after the deadline (last error: ${err.code}: ${clip(err.message)})`), now);
        } else {
          this.sqlite
            .prepare("UPDATE jobs SET status = 'pending', attempt_count = ?, next_attempt_at = ?, last_error_code = ?, last_error_message = ?, updated_at = ? WHERE id = ?")
            .run(counted, Math.max(retryAt, now), err.code, clip(err.message), now, id);
        }
      }
      return toApiJob(this.byId.get(id)!);
    });
  }

  /** Fails a pending job without an attempt (its deadline passed while it waited). */
  expire(id: string, now: number): ApiJob | null {
    return inTransaction(this.sqlite, 'expire a job', () => {
      const row = this.byId.get(id);
      if (row === undefined || row.status !== 'pending') return null;
      this.finish(id, 'failed', row.attempt_count, new ConductorError('deadline_exceeded', 'the deadline passed before an attempt succeeded'), now);
      return toApiJob(this.byId.get(id)!);
    });
  }

  /**
   * Cancels a job: pending or running → cancelled (a running attempt is marked cancelled and the
   * conversation's lock released; the caller stops the relay). Cancelled already: unchanged.
   * Done or failed: job_finished. Unknown: not_found.
   */
  cancel(id: string, now: number): { job: ApiJob; wasRunning: boolean } {
    return inTransaction(this.sqlite, 'cancel a job', () => {
      const row = this.byId.get(id);
      if (row === undefined) throw new ConductorError('not_found', `no job ${id}`);
      if (row.status === 'done' || row.status === 'failed') throw new ConductorError('job_finished', `job ${id} already ended as ${row.status}`, { status: row.status });
      if (row.status === 'cancelled') return { job: toApiJob(row), wasRunning: false };
      const wasRunning = row.status === 'running';
      if (wasRunning) {
        this.sqlite.prepare("UPDATE job_attempts SET outcome = 'cancelled', finished_at = ? WHERE job_id = ? AND outcome = 'running'").run(now, id);
        if (row.conversation_id !== null) this.conversations.release(row.conversation_id, now);
      }
      this.finish(id, 'cancelled', row.attempt_count + (wasRunning ? 1 : 0), new ConductorError('cancelled', 'the job was cancelled by its caller'), now);
      return { job: toApiJob(this.byId.get(id)!), wasRunning };
    });
  }

  /**
   * Retention: deletes finished jobs (with their attempts and answers) and conversation messages
   * older than `maxAgeMs`, then the oldest finished jobs until the DB's used pages fit `maxDbBytes`.
   * Pending and running jobs are never deleted, so the size rule may leave the DB above its cap.
   */
  prune(now: number, maxAgeMs: number, maxDbBytes: number): { deletedJobs: number; deletedMessages: number } {
    return inTransaction(this.sqlite, 'prune old jobs', () => {
      const cutoff = now - maxAgeMs;
      let deletedJobs = this.sqlite.prepare('DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?').run(cutoff).changes;
      const deletedMessages = this.sqlite.prepare('DELETE FROM messages WHERE job_id IS NULL AND created_at < ?').run(cutoff).changes;
      const oldest = this.sqlite.prepare<[number], { id: string }>('SELECT id FROM jobs WHERE finished_at IS NOT NULL ORDER BY finished_at LIMIT ?');
      const remove = this.sqlite.prepare('DELETE FROM jobs WHERE id = ?');
      while (usedBytes(this.sqlite) > maxDbBytes) {
        const batch = oldest.all(PRUNE_BATCH);
        if (batch.length === 0) break;
        for (const { id } of batch) remove.run(id);
        deletedJobs += batch.length;
      }
      return { deletedJobs, deletedMessages };
    });
  }

  private finish(id: string, status: 'failed' | 'cancelled', attemptCount: number, error: ConductorError, now: number): void {
    this.sqlite
      .prepare('UPDATE jobs SET status = ?, attempt_count = ?, last_error_code = ?, last_error_message = ?, updated_at = ?, finished_at = ? WHERE id = ?')
      .run(status, attemptCount, error.code, clip(error.message), now, now, id);
  }
}

/**
 * Restart recovery of jobs (runs inside recovery's transaction): every attempt still `running`
 * becomes `interrupted` and counts; its job goes back to `pending` no earlier than `earliest`, or
 * to `failed` when it asked `on_interrupt: "fail"` or has used up its attempts.
 */
export function recoverJobs(sqlite: Sqlite, now: number, earliest: number): { requeued: number; failed: number } {
  sqlite.prepare("UPDATE job_attempts SET outcome = 'interrupted', finished_at = ?, error_code = 'interrupted', error_message = 'the host stopped during the attempt' WHERE outcome = 'running'").run(now);
  const message = 'the host stopped during an attempt; its outcome is unknown';
  const failed = sqlite
    .prepare(
      `UPDATE jobs SET status = 'failed', attempt_count = attempt_count + 1, last_error_code = 'interrupted', last_error_message = ?, updated_at = ?, finished_at = ?
       WHERE status = 'running' AND (on_interrupt = 'fail' OR attempt_count + 1 >= max_attempts)`,
    )
    .run(message, now, now).changes;
  const requeued = sqlite
    .prepare(
      `UPDATE jobs SET status = 'pending', attempt_count = attempt_count + 1, next_attempt_at = MAX(next_attempt_at, ?),
         last_error_code = 'interrupted', last_error_message = ?, updated_at = ?
       WHERE status = 'running'`,
    )
    .run(earliest, message, now).changes;
  return { requeued, failed };
}
