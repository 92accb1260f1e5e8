import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, realpath, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Effects } from './commands.js';
import { launchCommand, launchEnvironment } from './launch.js';
import type { SupportedPlatform } from './paths.js';
import { pingHost, type PingOutcome } from './ping.js';
import { formatArgv, type Action } from './plan.js';
import { parseRegQueryDefault, regQueryArgv, type Argv } from './registry.js';
import type { PathOwner } from './trust.js';

/** How a finished command went. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command line to completion; injected so tests see the exact reg.exe command lines. */
export type CommandRunner = (argv: Argv) => Promise<CommandResult>;

/** Firefox gives a host no time limit, but a doctor that hangs helps nobody. */
const PING_TIMING = { answerMs: 5_000, exitMs: 5_000 };

/** The one adapter that touches the file system and starts processes. */
export function createSystemEffects(platform: SupportedPlatform, env: Readonly<Record<string, string | undefined>>, run: CommandRunner = runCommandLine): Effects {
  return {
    async apply(action: Action): Promise<void> {
      switch (action.kind) {
        case 'write': {
          const mode = action.executable ? 0o755 : 0o644;
          await mkdir(dirname(action.path), { recursive: true, mode: action.privateDir === true ? 0o700 : 0o755 });
          await writeFile(action.path, action.text, { mode });
          // writeFile's mode only applies to a new file; a reinstall also repairs a lost +x.
          await chmod(action.path, mode);
          return;
        }
        case 'remove':
          await rm(action.path, { force: true });
          return;
        case 'remove-dir-if-empty':
          await removeDirIfEmpty(action.path);
          return;
        case 'run': {
          const result = await run(action.argv);
          if (result.code !== 0) throw new Error(`${formatArgv(action.argv)} failed (exit ${result.code}): ${result.stderr.trim()}`);
          return;
        }
      }
    },
    readText,
    exists: (path) => canAccess(path, constants.F_OK),
    // On Windows X_OK is checked as F_OK: a .bat needs no execute bit.
    isExecutable: (path) => canAccess(path, constants.X_OK),
    async queryRegistryDefault(key: string): Promise<string | null> {
      const result = await run(regQueryArgv(key));
      return result.code === 0 ? parseRegQueryDefault(result.stdout) : null;
    },
    ping: (launcherPath, args) => pingThroughLauncher(platform, env, launcherPath, args),
    ownerChain,
  };
}

/** Owner and mode of a path's real path and of every directory above it, innermost first; null when it does not exist. */
async function ownerChain(path: string): Promise<PathOwner[] | null> {
  let current: string;
  try {
    current = await realpath(path);
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
  const chain: PathOwner[] = [];
  for (;;) {
    const stats = await stat(current);
    chain.push({ path: current, uid: stats.uid, mode: stats.mode, isDirectory: stats.isDirectory() });
    const parent = dirname(current);
    if (parent === current) return chain;
    current = parent;
  }
}

async function pingThroughLauncher(
  platform: SupportedPlatform,
  env: Readonly<Record<string, string | undefined>>,
  launcherPath: string,
  args: string[],
): Promise<PingOutcome> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conductor-fx-status-'));
  try {
    const command = launchCommand(platform, launcherPath, args, env);
    const child = spawn(command.file, command.args, {
      cwd: dataDir,
      env: launchEnvironment(platform, env, dataDir),
      stdio: 'pipe',
      windowsVerbatimArguments: command.windowsVerbatimArguments,
      windowsHide: true,
    });
    return await pingHost(child, PING_TIMING);
  } finally {
    // Retries: on Windows the host's files stay locked for a moment after it exits.
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

async function canAccess(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

async function removeDirIfEmpty(path: string): Promise<void> {
  try {
    await rmdir(path);
  } catch (err) {
    // Not empty (other hosts' manifests, the host's data) or already gone: both mean leave it.
    if (!hasErrorCode(err, 'ENOTEMPTY', 'EEXIST', 'ENOENT')) throw err;
  }
}

function runCommandLine([file, ...args]: Argv): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { windowsHide: true }, (error, stdout, stderr) => {
      // A numeric code is the command's exit status; anything else means it could not run at all.
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

/** Whether an error is a Node system error with one of these codes (ENOENT, EACCES…). */
export function hasErrorCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof Error && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}
