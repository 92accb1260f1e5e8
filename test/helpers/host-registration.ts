import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { distPath } from './repo.js';

const run = promisify(execFile);

/** The built installer; the end-to-end tests register the host exactly as a user would. */
const INSTALLER = distPath('install-host.mjs');

/** Registers the native host for the user whose HOME is `home`, with its data dir baked into the launcher. */
export async function installHost(home: string, dataDir: string): Promise<void> {
  await runInstaller(home, ['install', '--data-dir', dataDir]);
}

/** Removes the registration `installHost` wrote under `home`. */
export async function uninstallHost(home: string): Promise<void> {
  await runInstaller(home, ['uninstall']);
}

async function runInstaller(home: string, args: string[]): Promise<void> {
  if (!existsSync(INSTALLER)) throw new Error(`${INSTALLER} is missing: run \`npm run build\` first`);
  try {
    // HOME decides where a user-scope install writes (~/.mozilla/native-messaging-hosts on Linux).
    await run(process.execPath, [INSTALLER, ...args], { env: { ...process.env, HOME: home } });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`install-host ${args.join(' ')} failed: ${stderr || stdout || String(err)}`);
  }
}
