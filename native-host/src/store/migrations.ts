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
  {
    version: 5,
    description: 'durable jobs, their attempts, and job results in messages',
    // Jobs are the host's own queue (issue 13). `target_key` (platform, client, container) keeps the
    // dispatcher's pick an index lookup per target: jobs_target_due serves "the next due job of this
    // target", and the skip-scan over it lists the targets with pending work. messages is rebuilt
    // because a job's result may belong to no conversation (conversation_id was NOT NULL).
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        kind TEXT NOT NULL DEFAULT 'request' CHECK (kind IN ('request', 'renewal')),
        idempotency_key TEXT UNIQUE,
        fingerprint TEXT NOT NULL,
        target_key TEXT NOT NULL,
        platform TEXT NOT NULL,
        client_id TEXT NOT NULL,
        container TEXT,
        conversation_id TEXT REFERENCES local_conversations (id) ON DELETE SET NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        headers TEXT NOT NULL,
        body TEXT,
        stream INTEGER NOT NULL,
        max_wait_ms INTEGER,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled')),
        not_before INTEGER NOT NULL,
        deadline INTEGER,
        max_attempts INTEGER NOT NULL,
        on_interrupt TEXT NOT NULL CHECK (on_interrupt IN ('retry', 'fail')),
        attempt_count INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        response_status INTEGER,
        last_error_code TEXT,
        last_error_message TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX jobs_target_due ON jobs (target_key, next_attempt_at, seq) WHERE status = 'pending';
      CREATE INDEX jobs_due ON jobs (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX jobs_running ON jobs (status) WHERE status = 'running';
      CREATE INDEX jobs_status_seq ON jobs (status, seq);
      CREATE INDEX jobs_platform_seq ON jobs (platform, seq);
      CREATE INDEX jobs_conversation_seq ON jobs (conversation_id, seq) WHERE conversation_id IS NOT NULL;
      CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

      CREATE TABLE job_attempts (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('running', 'done', 'refused', 'failed', 'interrupted', 'cancelled')),
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        http_status INTEGER,
        error_code TEXT,
        error_message TEXT,
        retry_after_ms INTEGER,
        PRIMARY KEY (job_id, attempt)
      ) WITHOUT ROWID;
      CREATE INDEX job_attempts_running ON job_attempts (outcome) WHERE outcome = 'running';

      CREATE TABLE messages_v5 (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT REFERENCES local_conversations (id) ON DELETE CASCADE,
        job_id TEXT REFERENCES jobs (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        content TEXT NOT NULL,
        byte_length INTEGER NOT NULL DEFAULT 0,
        truncated INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        CHECK (conversation_id IS NOT NULL OR job_id IS NOT NULL)
      );
      INSERT INTO messages_v5 (id, conversation_id, role, content, byte_length, created_at)
        SELECT id, conversation_id, role, content, length(CAST(content AS BLOB)), created_at FROM messages;
      DROP TABLE messages;
      ALTER TABLE messages_v5 RENAME TO messages;
      CREATE INDEX messages_conversation ON messages (conversation_id, id) WHERE conversation_id IS NOT NULL;
      CREATE INDEX messages_job ON messages (job_id) WHERE job_id IS NOT NULL;
      CREATE INDEX messages_created ON messages (created_at);

      ALTER TABLE local_conversations ADD COLUMN status_before_pause TEXT;
      ALTER TABLE local_conversations ADD COLUMN consecutive_failure_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE local_conversations ADD COLUMN repeated_message_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE local_conversations ADD COLUMN repeated_renewal_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE local_conversations ADD COLUMN last_message_fingerprint TEXT;
      ALTER TABLE local_conversations ADD COLUMN last_renewal_fingerprint TEXT;
      ALTER TABLE local_conversations ADD COLUMN cooldown_until INTEGER;
      ALTER TABLE local_conversations ADD COLUMN renewal_schedule TEXT;
      ALTER TABLE local_conversations ADD COLUMN next_renewal_at INTEGER;
      CREATE INDEX local_conversations_renewal_due ON local_conversations (next_renewal_at)
        WHERE automation_status = 'auto' AND renewal_schedule IS NOT NULL;
    `,
  },
];

/** The schema version this host writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
