// Entry point Firefox runs as `node host.mjs <manifest path> <add-on id>`: reads argv and the
// environment, wires the process's stdio, signals and parent to the host, and exits with its code.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { format } from 'node:util';
import { DEFAULT_EXTENSION_ID } from '../../scripts/install-host/manifest.js';
import { startApiServer } from './api/server.js';
import { loadHostConfig, type HostConfig } from './config.js';
import { makeDataDirPrivate, resolveDataDir } from './data-dir.js';
import { startHost, type RunningHost } from './host.js';
import { bestEffortSink, createLogger, LOG_FILE_NAME } from './log.js';
import { processExists, watchParent } from './parent-watch.js';

/** How often the host checks that Firefox (its parent) is still alive, when no pipe has told it. */
const PARENT_POLL_MS = 250;
/** Once shutting down, the process is gone after this long even if a step hangs (the OS drops the lock). */
const HARD_EXIT_MS = 1_000;

let host: RunningHost | null = null;
/** Why the host must stop, when that was learnt before it had started (set from callbacks, hence the cast). */
let lostEarly = null as { reason: string; code: number } | null;
let hardExit: NodeJS.Timeout | null = null;
/** Every way of losing Firefox ends here: a clean shutdown, bounded by a hard exit. */
const stop = (reason: string, code: number): void => {
  if (host === null) {
    lostEarly ??= { reason, code };
    return;
  }
  hardExit ??= setTimeout(() => process.exit(code), HARD_EXIT_MS);
  void host.shutdown(reason, code);
};

// Firefox gone means stderr's reader is gone: its EPIPE stops the host and silences stderr,
// rather than becoming an uncaught error whose handler writes to stderr again.
const stderr = bestEffortSink(process.stderr, () => stop('stderr closed', 0));
// stdout carries frames only: anything a dependency prints goes to stderr instead, best-effort too.
console.log = console.info = console.warn = console.error = (...args: unknown[]) => stderr.write(`${format(...args)}\n`);

const [manifestPath = '', addonId = ''] = process.argv.slice(2);
const dataDir = resolveDataDir({ platform: process.platform, homedir: homedir(), env: process.env });
const stderrOnly = createLogger({ stderr, filePath: null });

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
  log = createLogger({ stderr, filePath: join(dataDir, LOG_FILE_NAME) });
} catch (err) {
  stderrOnly.warn('cannot write the log file; logging to stderr only', { message: (err as Error).message });
}
log.info('host started by Firefox', { manifestPath, addonId, node: process.version });
if (addonId !== DEFAULT_EXTENSION_ID) log.warn('started for an unexpected add-on id', { addonId });

let uncaught = 0;
process.on('uncaughtException', (err) => {
  // Only the first is logged: a failure that repeats must not turn into a logging loop.
  if (++uncaught === 1) log.error('uncaught error', { message: err.message, stack: err.stack });
  stop('uncaught error', 70);
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => stop(signal, 0));
watchParent({
  currentParent: () => process.ppid,
  exists: processExists,
  intervalMs: PARENT_POLL_MS,
  // Unref'd: the watch alone never keeps a finished host alive.
  timers: { setInterval: (fn, ms) => setInterval(fn, ms).unref(), clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout) },
  onGone: () => stop('the parent process is gone', 0),
});

host = await startHost({
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
if (lostEarly !== null) stop(lostEarly.reason, lostEarly.code);
process.exit(await host.exitCode);
