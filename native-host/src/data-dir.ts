import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, posix, win32 } from 'node:path';
import { ConductorError } from '../../shared/errors.js';

/** The environment variable that overrides where the host keeps its data. */
export const DATA_DIR_ENV = 'CONDUCTOR_FX_DATA_DIR';

const OWN_DIR = 'conductor-fx';

/** A data dir the host creates is the user's alone: it holds the journal, conversations and log. */
export const DATA_DIR_MODE = 0o700;

/** The facts about the machine that decide the data dir; injected so tests can fake any OS. */
export interface DataDirSystem {
  platform: NodeJS.Platform;
  homedir: string;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Where the host keeps artifact.db, its log and lock: $CONDUCTOR_FX_DATA_DIR when set, else the
 * per-user data directory of the OS (XDG on Linux and other Unixes, Application Support on macOS,
 * %LOCALAPPDATA% on Windows).
 */
export function resolveDataDir(sys: DataDirSystem): string {
  const override = sys.env[DATA_DIR_ENV];
  if (override !== undefined && override !== '') return override;
  if (sys.platform === 'win32') {
    return win32.join(sys.env['LOCALAPPDATA'] || win32.join(sys.homedir, 'AppData', 'Local'), OWN_DIR);
  }
  if (sys.platform === 'darwin') return posix.join(sys.homedir, 'Library', 'Application Support', OWN_DIR);
  // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = sys.env['XDG_DATA_HOME'];
  return posix.join(xdg !== undefined && posix.isAbsolute(xdg) ? xdg : posix.join(sys.homedir, '.local', 'share'), OWN_DIR);
}

/** Mode of every file in the data dir, whoever created it. */
export const DATA_FILE_MODE = 0o600;

/** Why a directory is not the user's own private place (null when it is): one rule for host and client. */
export function notOwnDir(dir: string, stats: { uid: number; mode: number }, uid: number): string | null {
  if (stats.uid !== uid) return `the data dir ${dir} belongs to uid ${stats.uid}, not to this user (uid ${uid})`;
  if ((stats.mode & 0o022) !== 0) return `the data dir ${dir} is writable by other users (mode ${(stats.mode & 0o777).toString(8)})`;
  return null;
}

/**
 * Makes the data dir the user's alone, whoever created it: creates it 0700, refuses one owned by
 * another user, then narrows the dir to 0700 and every entry in it to 0600 (a dir made by hand or
 * an older host keeps 0755 and 0644 files otherwise). Symlinks are left alone: chmod would follow
 * them out of the dir. Windows: nothing to do, %LOCALAPPDATA%'s ACL is per user.
 */
export function makeDataDirPrivate(dir: string, sys: { platform: NodeJS.Platform; uid: number | undefined }): void {
  if (sys.platform === 'win32' || sys.uid === undefined) return;
  const refuse = (why: string) => new ConductorError('data_dir_not_private', `${why}; the host uses nothing in it`, { dataDir: dir });
  mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  const stats = statSync(dir);
  if (stats.uid !== sys.uid) throw refuse(notOwnDir(dir, stats, sys.uid) as string);
  if ((stats.mode & 0o077) !== 0) chmodSync(dir, DATA_DIR_MODE);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const entry = lstatSync(path, { throwIfNoEntry: false });
    if (entry === undefined || entry.isSymbolicLink() || (entry.mode & 0o077) === 0) continue;
    try {
      chmodSync(path, entry.isDirectory() ? DATA_DIR_MODE : DATA_FILE_MODE);
    } catch (err) {
      throw refuse(`${path} (owner uid ${entry.uid}) cannot be made private: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
}
