import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConductorError, isConductorError } from '../../../shared/errors.js';
import { guarded, openSqliteFile } from '../store/db.js';

/** The lock file; an SQLite file held in exclusive locking mode for the host's whole life. */
export const LOCK_FILE_NAME = 'host.lock';
/** The owner's pid, written once the lock is held; read by a second host for its db_locked answer. */
export const PID_FILE_NAME = 'host.pid';

/** The held lock on a data dir. */
export interface DataDirLock {
  release(): void;
}

/**
 * Makes this process the one live host of `dataDir`, or throws ConductorError `db_locked` with
 * `details.pid` naming the owner. The lock is the OS's own file lock (SQLite's EXCLUSIVE lock on
 * host.lock): the kernel drops it when its process dies however it dies, so a lock left by a
 * killed host is simply taken over and a recycled pid can never keep a data dir locked.
 */
export function acquireDataDirLock(dataDir: string, pid: number): DataDirLock {
  const lockPath = join(dataDir, LOCK_FILE_NAME);
  const pidPath = join(dataDir, PID_FILE_NAME);
  const sqlite = openSqliteFile(lockPath, 0);
  try {
    guarded('lock the data dir', () => {
      sqlite.pragma('locking_mode = EXCLUSIVE');
      // In this locking mode the EXCLUSIVE lock taken here is kept after COMMIT, until close.
      sqlite.exec('BEGIN EXCLUSIVE; COMMIT');
    });
  } catch (err) {
    sqlite.close();
    if (isConductorError(err, 'db_locked')) {
      const owner = readOwnerPid(pidPath);
      throw new ConductorError('db_locked', `another conductor-fx host${owner === null ? '' : ` (pid ${owner})`} owns ${dataDir}`, {
        pid: owner,
        data_dir: dataDir,
      });
    }
    throw err;
  }
  writeFileSync(pidPath, `${pid}\n`);
  return {
    release() {
      rmSync(pidPath, { force: true });
      sqlite.close();
    },
  };
}

function readOwnerPid(pidPath: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidPath, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null; // the owner has not written it yet, or is just leaving
  }
}
