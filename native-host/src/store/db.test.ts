import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { useTempDirs } from '../../../test/host/temp-store.js';
import { DB_FILE_NAME, inTransaction, openArtifactDb, openSqliteFile, toConductorError } from './db.js';
import { LATEST_SCHEMA_VERSION } from './migrations.js';

const tempDir = useTempDirs('db');

describe('openArtifactDb', () => {
  it('creates artifact.db in the data dir with WAL, foreign keys, a busy timeout and the latest schema', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const db = openArtifactDb(dir, { busyTimeoutMs: 1234 });
    try {
      expect(db.path).toBe(join(dir, DB_FILE_NAME));
      expect(db.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
      expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.sqlite.pragma('busy_timeout', { simple: true })).toBe(1234);
      expect(db.sqlite.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('refuses a DB written by a newer host, leaving it untouched', () => {
    const dir = tempDir();
    const raw = openSqliteFile(join(dir, DB_FILE_NAME), 0);
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openArtifactDb(dir)).toThrow(expect.objectContaining({ code: 'db_error', details: expect.objectContaining({ schema_version: LATEST_SCHEMA_VERSION + 1 }) }));
    const again = openSqliteFile(join(dir, DB_FILE_NAME), 0);
    expect(again.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION + 1);
    again.close();
  });

  it('answers db_error for a file that is not a database', () => {
    const dir = tempDir();
    writeFileSync(join(dir, DB_FILE_NAME), 'this is not sqlite, just text that is long enough to have a header'.repeat(20));
    expect(() => openArtifactDb(dir)).toThrow(expect.objectContaining({ code: 'db_error' }));
  });
});

describe('SQLite failures', () => {
  it('maps a full database to disk_full and keeps nothing of the failed transaction', () => {
    const db = openArtifactDb(tempDir());
    try {
      db.sqlite.exec('CREATE TABLE filler (blob TEXT)');
      const pages = db.sqlite.pragma('page_count', { simple: true }) as number;
      db.sqlite.pragma(`max_page_count = ${pages + 3}`);
      const insert = db.sqlite.prepare('INSERT INTO filler (blob) VALUES (?)');
      const fill = () =>
        inTransaction(db.sqlite, 'fill the disk', () => {
          insert.run('small');
          for (let i = 0; i < 50; i++) insert.run('x'.repeat(4000));
        });
      expect(fill).toThrow(expect.objectContaining({ code: 'disk_full', message: expect.stringContaining('fill the disk') }));
      expect(db.sqlite.prepare('SELECT COUNT(*) AS n FROM filler').get()).toEqual({ n: 0 });
      // The DB is still usable for what fits.
      insert.run('fits');
      expect(db.sqlite.prepare('SELECT COUNT(*) AS n FROM filler').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('maps a lock held by another connection to db_locked', () => {
    const dir = tempDir();
    const first = openArtifactDb(dir);
    const second = openArtifactDb(dir, { busyTimeoutMs: 0 });
    try {
      first.sqlite.exec('BEGIN IMMEDIATE');
      const write = () => inTransaction(second.sqlite, 'write the journal', () => second.sqlite.exec('DELETE FROM request_journal'));
      expect(write).toThrow(expect.objectContaining({ code: 'db_locked' }));
      first.sqlite.exec('ROLLBACK');
    } finally {
      second.close();
      first.close();
    }
  });

  it('maps a data dir that is full or read-only (file-system errors) to disk_full and a db_error that says read-only', () => {
    const fsError = (code: string) => Object.assign(new Error(`${code}: x`), { code });
    expect(toConductorError(fsError('ENOSPC'), 'take the data dir lock')).toMatchObject({ code: 'disk_full', details: { fs_code: 'ENOSPC' } });
    for (const code of ['EROFS', 'EACCES', 'EPERM']) {
      const err = toConductorError(fsError(code), 'take the data dir lock');
      expect(err).toMatchObject({ code: 'db_error', details: { fs_code: code } });
      expect(err.message).toBe('could not take the data dir lock: the data dir or DB is read-only (a read-only mount or file, or no write permission)');
    }
  });

  it('maps any other failure to db_error and passes ConductorErrors through', () => {
    expect(toConductorError(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }), 'write').code).toBe('db_error');
    const own = new ConductorError('bad_payload', 'x');
    expect(toConductorError(own, 'write')).toBe(own);
  });
});
