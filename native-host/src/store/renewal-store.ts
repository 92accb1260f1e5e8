import { guarded, type Sqlite } from './db.js';

export type RenewalStatus = 'pending' | 'running' | 'done' | 'failed';

/** A row of renewal_jobs. */
export interface RenewalJob {
  id: number;
  conversationId: string;
  status: RenewalStatus;
  attemptCount: number;
  nextAttemptAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** renewal_jobs as far as restart recovery and its tests reach: inserting and reading back. */
export class RenewalStore {
  private readonly insertRow;
  private readonly byId;

  constructor(sqlite: Sqlite) {
    this.insertRow = sqlite.prepare<Omit<RenewalJob, 'id'>>(
      `INSERT INTO renewal_jobs (conversation_id, status, attempt_count, next_attempt_at, started_at, finished_at, created_at, updated_at)
       VALUES (@conversationId, @status, @attemptCount, @nextAttemptAt, @startedAt, @finishedAt, @createdAt, @updatedAt)`,
    );
    this.byId = sqlite.prepare<[number], RenewalJob>(
      `SELECT id, conversation_id AS conversationId, status, attempt_count AS attemptCount, next_attempt_at AS nextAttemptAt,
              started_at AS startedAt, finished_at AS finishedAt, created_at AS createdAt, updated_at AS updatedAt
       FROM renewal_jobs WHERE id = ?`,
    );
  }

  /** Inserts one job and returns its id. */
  insert(job: Omit<RenewalJob, 'id'>): number {
    return Number(guarded('insert a renewal job', () => this.insertRow.run(job)).lastInsertRowid);
  }

  /** One job by id, or null. */
  get(id: number): RenewalJob | null {
    return guarded('read a renewal job', () => this.byId.get(id)) ?? null;
  }
}
