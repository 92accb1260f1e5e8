import { pathFlavour, type SupportedPlatform } from './paths.js';

/** Owner and mode of one path (the real path, symlinks resolved). */
export interface PathOwner {
  path: string;
  uid: number;
  mode: number;
  isDirectory: boolean;
}

/** Root's uid: the only owner every user of the machine can trust not to change what they run. */
const ROOT_UID = 0;
const STICKY = 0o1000;

/**
 * Why a file a `--system` launcher runs for every user is not safe to run, given the owner of it
 * and of each directory above it (innermost first): each must be root's and writable by no one
 * else, or its owner could change what every other user runs. A sticky directory above (such as
 * /tmp) is fine: others cannot rename or remove what is in it.
 */
export function systemTrustProblems(chain: readonly PathOwner[]): string[] {
  const problems: string[] = [];
  chain.forEach((entry, index) => {
    if (entry.uid !== ROOT_UID) problems.push(`${entry.path} belongs to uid ${entry.uid}, not root`);
    const sticky = index > 0 && entry.isDirectory && (entry.mode & STICKY) !== 0;
    if ((entry.mode & 0o022) !== 0 && !sticky) problems.push(`${entry.path} is writable by group or others (mode ${(entry.mode & 0o7777).toString(8)})`);
  });
  return problems;
}

/** The paths whose owners decide what the launcher runs: node, the host, and the checkout's node_modules it loads. */
export function launchedPaths(platform: SupportedPlatform, nodePath: string, hostScript: string): string[] {
  const { dirname, join } = pathFlavour(platform);
  // hostScript is <checkout>/dist/native-host/host.mjs; better-sqlite3 is loaded from <checkout>/node_modules.
  return [nodePath, hostScript, join(dirname(dirname(dirname(hostScript))), 'node_modules')];
}

/** "uid 0 (root)" or "uid 1000": how status names an owner. */
export function describeOwner(uid: number): string {
  return uid === ROOT_UID ? 'uid 0 (root)' : `uid ${uid}`;
}
