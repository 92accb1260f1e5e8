import { posix, win32 } from 'node:path';
import { HOST_NAME } from './manifest.js';

/** Whether the host is registered for the current user or for every user of the machine. */
export type Scope = 'user' | 'system';

export type SupportedPlatform = 'linux' | 'darwin' | 'win32';

/** The facts about the machine that decide where files go; injected so tests can fake any OS. */
export interface SystemInfo {
  platform: NodeJS.Platform;
  homedir: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** Everything `install` writes, for one platform and scope. */
export interface InstallLayout {
  platform: SupportedPlatform;
  scope: Scope;
  /** Where Firefox looks for manifests (Unix) or our own directory (Windows, found through the registry). */
  manifestDir: string;
  manifestPath: string;
  /** Our own directory: Firefox's manifest directory is shared with other hosts, so the launcher lives apart. */
  launcherDir: string;
  launcherPath: string;
  /** Windows only: the key whose default value is manifestPath. */
  registryKey: string | null;
}

const OWN_DIR = 'conductor-fx';

/** Narrows a Node platform to one Firefox native messaging is set up for here; throws otherwise. */
export function supportedPlatform(platform: NodeJS.Platform): SupportedPlatform {
  if (platform === 'linux' || platform === 'darwin' || platform === 'win32') return platform;
  throw new Error(`install-host supports Linux, macOS and Windows; this machine is "${platform}"`);
}

/** The path flavour (separator, isAbsolute) of a platform, so faked platforms resolve like the real one. */
export function pathFlavour(platform: SupportedPlatform): typeof posix {
  return platform === 'win32' ? win32 : posix;
}

/** Resolves where the manifest, the launcher and (on Windows) the registry key go. */
export function resolveLayout(sys: SystemInfo, scope: Scope): InstallLayout {
  const platform = supportedPlatform(sys.platform);
  const { join } = pathFlavour(platform);
  const user = scope === 'user';
  let manifestDir: string;
  let launcherDir: string;
  let registryKey: string | null = null;
  if (platform === 'linux') {
    manifestDir = user ? join(sys.homedir, '.mozilla', 'native-messaging-hosts') : '/usr/lib/mozilla/native-messaging-hosts';
    launcherDir = user ? join(sys.homedir, '.local', 'share', OWN_DIR) : join('/usr/local/lib', OWN_DIR);
  } else if (platform === 'darwin') {
    const support = user ? join(sys.homedir, 'Library', 'Application Support') : '/Library/Application Support';
    manifestDir = join(support, 'Mozilla', 'NativeMessagingHosts');
    launcherDir = join(support, OWN_DIR);
  } else {
    const base = user ? (sys.env['LOCALAPPDATA'] ?? join(sys.homedir, 'AppData', 'Local')) : (sys.env['ProgramData'] ?? 'C:\\ProgramData');
    // Windows has no manifest directory of Firefox's: the registry points at a file of ours.
    manifestDir = join(base, OWN_DIR);
    launcherDir = manifestDir;
    registryKey = `${user ? 'HKCU' : 'HKLM'}\\Software\\Mozilla\\NativeMessagingHosts\\${HOST_NAME}`;
  }
  return {
    platform,
    scope,
    manifestDir,
    manifestPath: join(manifestDir, `${HOST_NAME}.json`),
    launcherDir,
    launcherPath: join(launcherDir, `${HOST_NAME}${platform === 'win32' ? '.bat' : '.sh'}`),
    registryKey,
  };
}
