import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConductorError, isConductorError } from '../../../shared/errors.js';
import { DATA_DIR_MODE } from '../data-dir.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations.js';

/** The only module that imports better-sqlite3; every other module sees these aliases. */
export type Sqlite = Database.Database;
export type Statement<P extends unknown[] | object = unknown[], R = unknown> = Database.Statement<P, R>;

/** The artifact DB's file name inside the data dir. */
export const DB_FILE_NAME = 'artifact.db';

/** How long a statement waits for another connection's lock before failing with db_locked. */
export const DEFAULT_BUSY_TIMEOUT_MS = 2_000;

/** An open, migrated artifact DB. */
export interface ArtifactDb {
  readonly sqlite: Sqlite;
  readonly path: string;
  readonly schemaVersion: number;
  close(): void;
}

export interface OpenOptions {
  busyTimeoutMs?: number;
  /** The migrations to apply (tests open at an earlier version with a prefix of MIGRATIONS). */
  migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed) `<dataDir>/artifact.db`: WAL, busy timeout, foreign keys on, and every
 * pending migration applied, each in its own transaction. Failures come out as ConductorErrors.
 */
export function openArtifactDb(dataDir: string, options: OpenOptions = {}): ArtifactDb {
  mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const path = join(dataDir, DB_FILE_NAME);
  const sqlite = openSqliteFile(path, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  try {
    guarded('configure the artifact DB', () => {
      sqlite.pragma('journal_mode = WAL');
      // NORMAL is durable across process crashes in WAL mode (only an OS crash may lose the last commit).
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
    });
    const schemaVersion = migrate(sqlite, options.migrations ?? MIGRATIONS);
    return { sqlite, path, schemaVersion, close: () => sqlite.close() };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/** Opens one SQLite file with a busy timeout; errors mapped like every other DB failure. */
export function openSqliteFile(path: string, busyTimeoutMs: number): Sqlite {
  return guarded(`open ${path}`, () => new Database(path, { timeout: busyTimeoutMs }));
}

/** The schema version stored in a DB (PRAGMA user_version). */
export function readSchemaVersion(sqlite: Sqlite): number {
  return sqlite.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the schema up to the last migration. Each migration and its user_version bump commit
 * together, so a crash leaves the DB at a whole version. A DB from a newer host is refused.
 */
export function migrate(sqlite: Sqlite, migrations: readonly Migration[] = MIGRATIONS): number {
  return guarded('migrate the artifact DB', () => {
    let version = readSchemaVersion(sqlite);
    if (version > LATEST_SCHEMA_VERSION) {
      throw new ConductorError('db_error', `the artifact DB has schema version ${version}, newer than this host's ${LATEST_SCHEMA_VERSION}`, {
        schema_version: version,
        supported_version: LATEST_SCHEMA_VERSION,
      });
    }
    for (const migration of migrations) {
      if (migration.version <= version) continue;
      sqlite.transaction(() => {
        sqlite.exec(migration.sql);
        sqlite.pragma(`user_version = ${migration.version}`);
      })();
      version = migration.version;
    }
    return version;
  });
}

/** Runs `fn` as one transaction (all or nothing), with SQLite failures mapped to ConductorErrors. */
export function inTransaction<T>(sqlite: Sqlite, what: string, fn: () => T): T {
  return guarded(what, () => sqlite.transaction(fn)());
}

/** Runs `fn`, turning a SQLite failure into a ConductorError (disk_full, db_locked or db_error; read-only is a db_error saying so). */
export function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toConductorError(err, what);
  }
}

/**
 * Maps a SQLite error (or a file-system error of the data dir: no space, read-only, no permission)
 * to the closed error set; the message names the operation, never row contents.
 */
export function toConductorError(err: unknown, what: string): ConductorError {
  if (isConductorError(err)) return err;
  const code = typeof err === 'object' && err !== null ? String((err as { code?: unknown }).code ?? '') : '';
  const reason = err instanceof Error ? err.message : String(err);
  const details = { [code.startsWith('SQLITE') ? 'sqlite_code' : 'fs_code']: code };
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_FULL_') || code === 'ENOSPC') {
    return new ConductorError('disk_full', `could not ${what}: the disk (or the DB size limit) is full`, details);
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new ConductorError('db_error', `could not ${what}: the data dir or DB is read-only (a read-only mount or file, or no write permission)`, details);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new ConductorError('db_locked', `could not ${what}: the DB is locked by another connection`, { sqlite_code: code, pid: null });
  }
  return new ConductorError('db_error', `could not ${what}: ${reason}`, code === '' ? undefined : { sqlite_code: code });
}
