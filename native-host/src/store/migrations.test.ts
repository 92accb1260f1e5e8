import { describe, expect, it } from 'vitest';
import { useTempDirs } from '../../../test/host/temp-store.js';
import { openArtifactDb, type Sqlite } from './db.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';

const tempDir = useTempDirs('migrations');

/** The schema as SQLite stores it, comparable between DBs. */
function schemaOf(sqlite: Sqlite): { type: string; name: string; sql: string }[] {
  return sqlite
    .prepare<[], { type: string; name: string; sql: string }>("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
    .all();
}

/** Rows that each version can hold, written at that version so the upgrade must carry them. */
function seed(sqlite: Sqlite, version: number): void {
  if (version >= 1) {
    sqlite.prepare("INSERT INTO browser_request_policy_state VALUES ('system', 'system', '{\"paused\":false}', 1)").run();
    if (version < 4) sqlite.prepare("INSERT INTO browser_request_policy_state VALUES ('platform', 'claude', '{\"version\":1,\"platform\":\"claude\"}', 1)").run();
    else sqlite.prepare("INSERT INTO browser_request_policy_state VALUES ('account', 'claude/firefox-default', '{\"version\":1,\"platform\":\"claude\"}', 1)").run();
    sqlite.prepare("INSERT INTO browser_request_policy_state VALUES ('target', 'claude/c', '{\"version\":1}', 1)").run();
    sqlite
      .prepare("INSERT INTO request_journal (request_id, client_id, platform, method, path, outcome, created_at) VALUES ('r1', 'c', 'claude', 'GET', '/x', 'success', 5)")
      .run();
  }
  if (version >= 2) {
    sqlite.prepare("INSERT INTO local_conversations (id, platform, client_id, created_at, updated_at) VALUES ('conv', 'claude', 'c', 1, 1)").run();
    sqlite.prepare("INSERT INTO renewal_jobs (conversation_id, status, created_at, updated_at) VALUES ('conv', 'pending', 1, 1)").run();
    sqlite.prepare("INSERT INTO messages (conversation_id, role, content, created_at) VALUES ('conv', 'user', 'héllo', 2)").run();
  }
}

describe('migrations', () => {
  it('are numbered 1, 2, 3… without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  const fresh = tempDir();
  const freshDb = openArtifactDb(fresh);
  const freshSchema = schemaOf(freshDb.sqlite);
  freshDb.close();

  for (let from = 0; from < LATEST_SCHEMA_VERSION; from++) {
    it(`upgrade a DB at version ${from} to the same schema as a fresh one, keeping its rows`, () => {
      const dir = tempDir();
      const old = openArtifactDb(dir, { migrations: MIGRATIONS.slice(0, from) });
      expect(old.schemaVersion).toBe(from);
      seed(old.sqlite, from);
      old.close();

      const upgraded = openArtifactDb(dir);
      try {
        expect(upgraded.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
        expect(schemaOf(upgraded.sqlite)).toEqual(freshSchema);
        const journal = upgraded.sqlite.prepare('SELECT COUNT(*) AS n FROM request_journal').get();
        expect(journal).toEqual({ n: from >= 1 ? 1 : 0 });
        const jobs = upgraded.sqlite.prepare('SELECT COUNT(*) AS n FROM renewal_jobs').get();
        expect(jobs).toEqual({ n: from >= 2 ? 1 : 0 });
        // Version 4: a platform's window row became its default-container account's row, the value kept for the add-on to migrate.
        const policy = upgraded.sqlite.prepare('SELECT kind, key, value FROM browser_request_policy_state ORDER BY kind, key').all();
        expect(policy).toEqual(
          from >= 1
            ? [
                { kind: 'account', key: 'claude/firefox-default', value: '{"version":1,"platform":"claude"}' },
                { kind: 'system', key: 'system', value: '{"paused":false}' },
                { kind: 'target', key: 'claude/c', value: '{"version":1}' },
              ]
            : [],
        );
        // Version 5 rebuilds messages (a job's answer may have no conversation): the rows stay, sized in bytes.
        const messages = upgraded.sqlite.prepare('SELECT conversation_id AS c, content, byte_length AS bytes, job_id AS job FROM messages').all();
        expect(messages).toEqual(from >= 2 ? [{ c: 'conv', content: 'héllo', bytes: 6, job: null }] : []);
      } finally {
        upgraded.close();
      }
    });
  }

  it('roll a failing migration back whole, leaving the DB at the previous version', () => {
    const dir = tempDir();
    const broken = [...MIGRATIONS.slice(0, 1), { version: 2, description: 'half good', sql: 'CREATE TABLE half (x); CREATE TABLE half (y);' }];
    expect(() => openArtifactDb(dir, { migrations: broken })).toThrow(/migrate/);
    const db = openArtifactDb(dir, { migrations: MIGRATIONS.slice(0, 1) });
    try {
      expect(db.schemaVersion).toBe(1);
      expect(db.sqlite.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
