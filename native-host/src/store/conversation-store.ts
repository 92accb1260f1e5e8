import { ConductorError } from '../../../shared/errors.js';
import { type ApiConversation, type RenewalSchedule, RenewalScheduleSchema } from '../../../shared/conversations.js';
import { type SafetyLimits, SafetyLimitsSchema } from '../../../shared/safety-limits.js';
import { guarded, inTransaction, type Sqlite, type Statement } from './db.js';

export type AutomationStatus = 'manual' | 'auto' | 'paused';
export type ExecutionState = 'idle' | 'renewal_running' | 'instruction_running';

/** A row of local_conversations (counters and state; no message text). */
export interface Conversation {
  id: string;
  platform: string;
  clientId: string;
  automationStatus: AutomationStatus;
  executionState: ExecutionState;
  pauseReason: string | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

interface ConversationRow {
  id: string;
  platform: string;
  client_id: string;
  automation_status: AutomationStatus;
  execution_state: ExecutionState;
  pause_reason: string | null;
  status_before_pause: AutomationStatus | null;
  last_error: string | null;
  consecutive_failure_count: number;
  repeated_message_count: number;
  repeated_renewal_count: number;
  last_message_fingerprint: string | null;
  last_renewal_fingerprint: string | null;
  cooldown_until: number | null;
  renewal_schedule: string | null;
  next_renewal_at: number | null;
  created_at: number;
  updated_at: number;
}

/** How a job's attempt counts for its conversation's safety rules. */
export type ConversationOutcome = { kind: 'done'; renewal: boolean; messageFingerprint: string } | { kind: 'failed'; error: string };

/** A stored schedule, or null when none (or no longer valid: then nothing is renewed). */
function scheduleOf(row: ConversationRow): RenewalSchedule | null {
  if (row.renewal_schedule === null) return null;
  const parsed = RenewalScheduleSchema.safeParse(JSON.parse(row.renewal_schedule));
  return parsed.success ? parsed.data : null;
}

/** A renewal due now: the conversation and what to send. */
export interface DueRenewal {
  conversationId: string;
  platform: string;
  clientId: string;
  dueAt: number;
  schedule: RenewalSchedule;
}

function toApi(row: ConversationRow): ApiConversation {
  const schedule = scheduleOf(row);
  return {
    conversation_id: row.id,
    platform: row.platform,
    client_id: row.client_id,
    automation_status: row.automation_status,
    execution_state: row.execution_state,
    pause_reason: row.pause_reason,
    consecutive_failure_count: row.consecutive_failure_count,
    repeated_message_count: row.repeated_message_count,
    repeated_renewal_count: row.repeated_renewal_count,
    cooldown_until: row.cooldown_until,
    renewal: schedule === null ? null : { every_ms: schedule.every_ms, method: schedule.method, path: schedule.path },
    next_renewal_at: schedule === null ? null : row.next_renewal_at,
    last_error: row.last_error,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/**
 * local_conversations: a platform conversation under automation. Holds its automation status
 * (manual | auto | paused, with the status before a pause restored on resume), its execution lock
 * (execution_state: one job at a time) and the counters of the safety rules that pause it.
 */
export class ConversationStore {
  private readonly insertRow;
  private readonly byId;
  private readonly rowById: Statement<[string], ConversationRow>;
  private readonly insertMessage;

  constructor(
    private readonly sqlite: Sqlite,
    /** The safety rules' limits, read when applied (policy.json may change them live). */
    private readonly safety: () => SafetyLimits = () => SafetyLimitsSchema.parse({}),
  ) {
    this.insertRow = sqlite.prepare<Conversation>(
      `INSERT INTO local_conversations (id, platform, client_id, automation_status, execution_state, pause_reason, last_error, created_at, updated_at)
       VALUES (@id, @platform, @clientId, @automationStatus, @executionState, @pauseReason, @lastError, @createdAt, @updatedAt)`,
    );
    this.byId = sqlite.prepare<[string], Conversation>(
      `SELECT id, platform, client_id AS clientId, automation_status AS automationStatus, execution_state AS executionState,
              pause_reason AS pauseReason, last_error AS lastError, created_at AS createdAt, updated_at AS updatedAt
       FROM local_conversations WHERE id = ?`,
    );
    this.rowById = sqlite.prepare('SELECT * FROM local_conversations WHERE id = ?');
    this.insertMessage = sqlite.prepare<[string, string, string, number, number]>(
      'INSERT INTO messages (conversation_id, role, content, byte_length, created_at) VALUES (?, ?, ?, ?, ?)',
    );
  }

  /** Inserts one conversation. */
  insert(conversation: Conversation): void {
    guarded('insert a conversation', () => this.insertRow.run(conversation));
  }

  /** One conversation by id, or null. */
  get(id: string): Conversation | null {
    return guarded('read a conversation', () => this.byId.get(id)) ?? null;
  }

  /** Appends a message to a conversation. */
  addMessage(conversationId: string, role: 'user' | 'assistant' | 'system', content: string, createdAt: number): void {
    guarded('insert a message', () => this.insertMessage.run(conversationId, role, content, Buffer.byteLength(content), createdAt));
  }

  /** Creates the conversation a job names when it is new (manual, idle); a known one must be of the same target. */
  ensure(id: string, platform: string, clientId: string, now: number): void {
    const row = this.rowById.get(id);
    if (row === undefined) {
      this.insert({ id, platform, clientId, automationStatus: 'manual', executionState: 'idle', pauseReason: null, lastError: null, createdAt: now, updatedAt: now });
    } else if (row.platform !== platform || row.client_id !== clientId) {
      throw new ConductorError('invalid_target', `conversation ${id} belongs to ${row.platform}/${row.client_id}, not ${platform}/${clientId}`);
    }
  }

  /** Takes the execution lock; false when the conversation is paused or already busy. Run inside the caller's transaction. */
  lock(id: string, state: Exclude<ExecutionState, 'idle'>, now: number): boolean {
    return (
      this.sqlite
        .prepare("UPDATE local_conversations SET execution_state = ?, updated_at = ? WHERE id = ? AND execution_state = 'idle' AND automation_status <> 'paused'")
        .run(state, now, id).changes === 1
    );
  }

  /** Releases the execution lock. */
  release(id: string, now: number): void {
    this.sqlite.prepare("UPDATE local_conversations SET execution_state = 'idle', updated_at = ? WHERE id = ?").run(now, id);
  }

  /**
   * Applies the safety rules to one attempt's outcome (inside the caller's transaction): a done
   * job resets the failure count and counts a repeat of the same message (or renewal); a failed
   * attempt counts a failure. A count reaching its limit pauses the conversation, with the reason.
   */
  recordOutcome(id: string, outcome: ConversationOutcome, now: number): void {
    const row = this.rowById.get(id);
    if (row === undefined) return;
    const limits = this.safety();
    let pause: string | null = null;
    if (outcome.kind === 'failed') {
      const failures = row.consecutive_failure_count + 1;
      this.sqlite.prepare('UPDATE local_conversations SET consecutive_failure_count = ?, last_error = ?, failure_count = failure_count + 1 WHERE id = ?').run(failures, outcome.error, id);
      if (failures >= limits.maxConsecutiveFailures) pause = `${failures} consecutive failures (limit ${limits.maxConsecutiveFailures}); last: ${outcome.error}`;
    } else if (outcome.renewal) {
      const repeats = row.last_renewal_fingerprint === outcome.messageFingerprint ? row.repeated_renewal_count + 1 : 1;
      this.sqlite
        .prepare('UPDATE local_conversations SET consecutive_failure_count = 0, repeated_renewal_count = ?, last_renewal_fingerprint = ?, renewal_count = renewal_count + 1 WHERE id = ?')
        .run(repeats, outcome.messageFingerprint, id);
      if (repeats >= limits.maxRepeatedRenewals) pause = `the same renewal sent ${repeats} times in a row (limit ${limits.maxRepeatedRenewals})`;
    } else {
      const repeats = row.last_message_fingerprint === outcome.messageFingerprint ? row.repeated_message_count + 1 : 1;
      this.sqlite
        .prepare('UPDATE local_conversations SET consecutive_failure_count = 0, repeated_message_count = ?, last_message_fingerprint = ?, instruction_count = instruction_count + 1 WHERE id = ?')
        .run(repeats, outcome.messageFingerprint, id);
      if (repeats >= limits.maxRepeatedMessages) pause = `the same message sent ${repeats} times in a row (limit ${limits.maxRepeatedMessages})`;
    }
    if (pause !== null) this.pauseRow(id, pause, now);
  }

  /** All conversations, newest first (at most `limit`). */
  list(limit: number): ApiConversation[] {
    return guarded('list conversations', () =>
      this.sqlite.prepare<[number], ConversationRow>('SELECT * FROM local_conversations ORDER BY created_at DESC, id LIMIT ?').all(limit).map(toApi),
    );
  }

  /** One conversation as the API shows it, or not_found. */
  describe(id: string): ApiConversation {
    const row = guarded('read a conversation', () => this.rowById.get(id));
    if (row === undefined) throw new ConductorError('not_found', `no conversation ${id}`);
    return toApi(row);
  }

  /**
   * Moves a conversation's automation status: auto / manual set it (also ending a pause), pause
   * remembers the status it leaves, resume restores that status and clears the safety counters.
   */
  setStatus(id: string, action: 'auto' | 'manual' | 'pause' | 'resume', now: number, reason = 'paused by the user'): ApiConversation {
    return inTransaction(this.sqlite, 'change a conversation', () => {
      const row = this.rowById.get(id);
      if (row === undefined) throw new ConductorError('not_found', `no conversation ${id}`);
      if (action === 'pause') {
        if (row.automation_status !== 'paused') this.pauseRow(id, reason, now);
      } else {
        const status = action === 'resume' ? (row.automation_status === 'paused' ? (row.status_before_pause ?? 'manual') : row.automation_status) : action;
        this.sqlite
          .prepare(
            `UPDATE local_conversations SET automation_status = ?, pause_reason = NULL, status_before_pause = NULL,
               consecutive_failure_count = CASE WHEN automation_status = 'paused' THEN 0 ELSE consecutive_failure_count END,
               repeated_message_count = CASE WHEN automation_status = 'paused' THEN 0 ELSE repeated_message_count END,
               repeated_renewal_count = CASE WHEN automation_status = 'paused' THEN 0 ELSE repeated_renewal_count END,
               updated_at = ? WHERE id = ?`,
          )
          .run(status, now, id);
      }
      return toApi(this.rowById.get(id)!);
    });
  }

  /** Sets (or with null clears) the renewal schedule; the first renewal is due one interval from now. */
  setRenewal(id: string, schedule: RenewalSchedule | null, now: number): void {
    guarded('set a renewal schedule', () =>
      this.sqlite
        .prepare('UPDATE local_conversations SET renewal_schedule = ?, next_renewal_at = ?, updated_at = ? WHERE id = ?')
        .run(schedule === null ? null : JSON.stringify(schedule), schedule === null ? null : now + schedule.every_ms, now, id),
    );
  }

  /**
   * The renewals due at `now` of `auto` conversations with no renewal job pending or running, each
   * moved on to its next time (one interval on from now, so a host that was down does not catch up
   * with a burst). The caller submits a renewal job for each, in the same transaction.
   */
  takeDueRenewals(now: number, submit: (due: DueRenewal) => void): number {
    return inTransaction(this.sqlite, 'schedule renewals', () => {
      const rows = this.sqlite
        .prepare<[number], ConversationRow>(
          `SELECT * FROM local_conversations INDEXED BY local_conversations_renewal_due
           WHERE automation_status = 'auto' AND renewal_schedule IS NOT NULL AND next_renewal_at <= ?
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.conversation_id = local_conversations.id AND kind = 'renewal' AND status IN ('pending', 'running'))`,
        )
        .all(now);
      let taken = 0;
      for (const row of rows) {
        const schedule = scheduleOf(row);
        if (schedule === null || row.next_renewal_at === null) continue;
        submit({ conversationId: row.id, platform: row.platform, clientId: row.client_id, dueAt: row.next_renewal_at, schedule });
        this.sqlite.prepare('UPDATE local_conversations SET next_renewal_at = ? WHERE id = ?').run(now + schedule.every_ms, row.id);
        taken += 1;
      }
      return taken;
    });
  }

  private pauseRow(id: string, reason: string, now: number): void {
    this.sqlite
      .prepare(
        `UPDATE local_conversations SET status_before_pause = CASE WHEN automation_status = 'paused' THEN status_before_pause ELSE automation_status END,
           automation_status = 'paused', pause_reason = ?, updated_at = ? WHERE id = ?`,
      )
      .run(reason.slice(0, 512), now, id);
  }
}
