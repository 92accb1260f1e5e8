/** One schema step; `sql` runs inside the transaction that also bumps PRAGMA user_version. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Every schema version ever shipped, oldest first. Append only: a released migration never
 * changes, since DBs in the field are at each of these versions.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'policy state and request journal',
    sql: `
      CREATE TABLE browser_request_policy_state (
        kind TEXT NOT NULL CHECK (kind IN ('platform', 'system', 'target')),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
      ) WITHOUT ROWID;

      CREATE TABLE request_journal (
        request_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('admitted', 'success', 'failure', 'cancelled', 'interrupted', 'rejected')),
        created_at INTEGER NOT NULL,
        admitted_at INTEGER,
        finished_at INTEGER,
        http_status INTEGER,
        error_code TEXT,
        admission_at INTEGER,
        queue_delay_ms REAL,
        backoff_delay_ms REAL,
        rate_limit_delay_ms REAL,
        jitter_delay_ms REAL,
        probe INTEGER
      );
      CREATE INDEX request_journal_created ON request_journal (created_at);
      CREATE INDEX request_journal_platform_created ON request_journal (platform, created_at);
    `,
  },
  {
    version: 2,
    description: 'conversations, messages and renewal jobs',
    sql: `
      CREATE TABLE local_conversations (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        client_id TEXT NOT NULL,
        remote_id TEXT,
        title TEXT,
        automation_status TEXT NOT NULL DEFAULT 'manual' CHECK (automation_status IN ('manual', 'auto', 'paused')),
        execution_state TEXT NOT NULL DEFAULT 'idle' CHECK (execution_state IN ('idle', 'renewal_running', 'instruction_running')),
        pause_reason TEXT,
        last_error TEXT,
        renewal_count INTEGER NOT NULL DEFAULT 0,
        instruction_count INTEGER NOT NULL DEFAULT 0,
        failure_count INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES local_conversations (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX messages_conversation ON messages (conversation_id, id);

      CREATE TABLE renewal_jobs (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES local_conversations (id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
        attempt_count INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        started_at INTEGER,
        finished_at INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX renewal_jobs_conversation ON renewal_jobs (conversation_id);
    `,
  },
  {
    version: 3,
    description: 'partial indexes for restart recovery and the renewal queue',
    // Recovery runs before every start on DBs of millions of rows: each of its queries reads only
    // the few rows a partial index holds.
    sql: `
      CREATE INDEX request_journal_admitted ON request_journal (outcome) WHERE outcome = 'admitted';
      CREATE INDEX local_conversations_busy ON local_conversations (execution_state) WHERE execution_state <> 'idle';
      CREATE INDEX renewal_jobs_running ON renewal_jobs (status) WHERE status = 'running';
      CREATE INDEX renewal_jobs_due ON renewal_jobs (next_attempt_at) WHERE status = 'pending';
    `,
  },
  {
    version: 4,
    description: 'policy state per account (platform + Firefox container) instead of per platform',
    // SQLite cannot alter a CHECK: the table is rebuilt. A platform's window row becomes its
    // default-container account's row (key "<platform>/firefox-default"); its value stays the
    // version-1 JSON, which the add-on migrates when it loads it (extension/src/policy/restore.ts).
    sql: `
      CREATE TABLE browser_request_policy_state_v4 (
        kind TEXT NOT NULL CHECK (kind IN ('account', 'system', 'target')),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
      ) WITHOUT ROWID;
      INSERT INTO browser_request_policy_state_v4 (kind, key, value, updated_at)
        SELECT CASE kind WHEN 'platform' THEN 'account' ELSE kind END,
               CASE kind WHEN 'platform' THEN key || '/firefox-default' ELSE key END,
               value, updated_at
        FROM browser_request_policy_state;
      DROP TABLE browser_request_policy_state;
      ALTER TABLE browser_request_policy_state_v4 RENAME TO browser_request_policy_state;
    `,
  },
];

/** The schema version this host writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
