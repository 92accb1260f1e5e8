import { guarded, type Sqlite } from './db.js';

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

/**
 * local_conversations and their messages, as far as restart recovery and its tests reach:
 * inserting, reading one back, appending messages.
 */
export class ConversationStore {
  private readonly insertRow;
  private readonly byId;
  private readonly insertMessage;

  constructor(sqlite: Sqlite) {
    this.insertRow = sqlite.prepare<Conversation>(
      `INSERT INTO local_conversations (id, platform, client_id, automation_status, execution_state, pause_reason, last_error, created_at, updated_at)
       VALUES (@id, @platform, @clientId, @automationStatus, @executionState, @pauseReason, @lastError, @createdAt, @updatedAt)`,
    );
    this.byId = sqlite.prepare<[string], Conversation>(
      `SELECT id, platform, client_id AS clientId, automation_status AS automationStatus, execution_state AS executionState,
              pause_reason AS pauseReason, last_error AS lastError, created_at AS createdAt, updated_at AS updatedAt
       FROM local_conversations WHERE id = ?`,
    );
    this.insertMessage = sqlite.prepare<[string, string, string, number]>(
      'INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)',
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
    guarded('insert a message', () => this.insertMessage.run(conversationId, role, content, createdAt));
  }
}
