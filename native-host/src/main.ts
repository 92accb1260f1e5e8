// Entry point Firefox runs as `node host.mjs <manifest path> <add-on id>`: reads argv and the
// environment, wires the process's stdio and signals to the host, and exits with its code.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_EXTENSION_ID } from '../../scripts/install-host/manifest.js';
import { startApiServer } from './api/server.js';
import { loadHostConfig, type HostConfig } from './config.js';
import { makeDataDirPrivate, resolveDataDir } from './data-dir.js';
import { startHost } from './host.js';
import { createLogger, LOG_FILE_NAME } from './log.js';

// stdout carries frames only: anything a dependency prints goes to stderr instead.
console.log = console.error;
console.info = console.error;

const [manifestPath = '', addonId = ''] = process.argv.slice(2);
const dataDir = resolveDataDir({ platform: process.platform, homedir: homedir(), env: process.env });
const stderrOnly = createLogger({ stderr: process.stderr, filePath: null });

let config: HostConfig;
try {
  config = loadHostConfig(process.env);
} catch (err) {
  stderrOnly.error('bad configuration; the host cannot start', { message: (err as Error).message });
  process.exit(2);
}

// Every file the host creates (DB, WAL, lock, log and its rotations) is the user's alone.
process.umask(0o077);
let log = stderrOnly;
try {
  // A data dir of another user gets no log file either; startHost then refuses it with the reason.
  makeDataDirPrivate(dataDir, { platform: process.platform, uid: process.getuid?.() });
  log = createLogger({ stderr: process.stderr, filePath: join(dataDir, LOG_FILE_NAME) });
} catch (err) {
  stderrOnly.warn('cannot write the log file; logging to stderr only', { message: (err as Error).message });
}
log.info('host started by Firefox', { manifestPath, addonId, node: process.version });
if (addonId !== DEFAULT_EXTENSION_ID) log.warn('started for an unexpected add-on id', { addonId });

const host = await startHost({
  dataDir,
  config,
  input: process.stdin,
  output: process.stdout,
  log,
  pid: process.pid,
  now: Date.now,
  monotonicMs: () => performance.now(),
  startApi: startApiServer,
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void host.shutdown(signal, 0));
process.on('uncaughtException', (err) => {
  log.error('uncaught error', { message: err.message, stack: err.stack });
  void host.shutdown('uncaught error', 70);
});
process.exit(await host.exitCode);
