import { posix, win32 } from 'node:path';

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
