import { DATA_DIR_ENV } from '../../native-host/src/data-dir.js';
import { API_PORT_ENV } from '../../shared/api.js';
import type { SupportedPlatform } from './paths.js';

/** A process to spawn: file, argv, and whether the argv is already a finished Windows command line. */
export interface LaunchCommand {
  file: string;
  args: string[];
  windowsVerbatimArguments: boolean;
}

/** The command that starts a launcher as Firefox does, with the args Firefox passes (manifest path, add-on id). */
export function launchCommand(platform: SupportedPlatform, launcherPath: string, args: string[], env: Readonly<Record<string, string | undefined>>): LaunchCommand {
  if (platform !== 'win32') return { file: launcherPath, args, windowsVerbatimArguments: false };
  // Node refuses to spawn a .bat without a shell (CVE-2024-27980); cmd.exe runs it as CreateProcess does for Firefox.
  // /s strips the outer quotes, so every path stays quoted; Windows paths cannot contain a double quote.
  const line = [launcherPath, ...args].map((arg) => `"${arg}"`).join(' ');
  return { file: env['ComSpec'] ?? 'cmd.exe', args: ['/d', '/s', '/c', `"${line}"`], windowsVerbatimArguments: true };
}

/**
 * The environment `status` starts the host with: what a Firefox started from the desktop has, plus a private
 * data dir and a free API port, so the check never competes with a live host for the data-dir lock or the port.
 */
export function launchEnvironment(platform: SupportedPlatform, env: Readonly<Record<string, string | undefined>>, dataDir: string): Record<string, string> {
  const isolation = { [DATA_DIR_ENV]: dataDir, [API_PORT_ENV]: '0' };
  if (platform === 'win32') {
    // Windows processes need much of the session's environment (SystemRoot, TEMP…); Firefox passes it all.
    const inherited = Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined);
    return { ...Object.fromEntries(inherited), ...isolation };
  }
  // A Firefox started from a desktop menu often has only the system PATH: a launcher relying on more fails there.
  const home = env['HOME'];
  return { ...(home === undefined ? {} : { HOME: home }), PATH: '/usr/bin:/bin', ...isolation };
}
