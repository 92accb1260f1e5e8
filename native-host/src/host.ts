import type { Readable, Writable } from 'node:stream';
import { ConductorError, isConductorError } from '../../shared/errors.js';
import { EXTENSION_EVENTS, EXTENSION_METHODS, HOST_METHODS, MAX_HOST_TO_EXTENSION_BYTES, type HostStatus } from '../../shared/messages.js';
import type { RecoveryReport } from '../../shared/recovery.js';
import { RpcPeer, type MethodHandlers } from '../../shared/rpc.js';
import type { ApiContext, ApiInfo, ApiServer, Logger } from './api/context.js';
import type { HostConfig } from './config.js';
import { makeDataDirPrivate } from './data-dir.js';
import { NativeExtensionLink } from './extension-link.js';
import { JobsService } from './jobs/jobs-service.js';
import { readPolicyFile, type PolicyFileRead } from './policy-file.js';
import { StdioTransport } from './protocol/stdio-transport.js';
import { acquireDataDirLock, type DataDirLock } from './recovery/data-dir-lock.js';
import { runRecovery } from './recovery/recovery.js';
import { guarded, openArtifactDb, type ArtifactDb } from './store/db.js';
import { JournalStore } from './store/journal-store.js';
import { LATEST_SCHEMA_VERSION } from './store/migrations.js';
import { PolicyStore } from './store/policy-store.js';
import { SafetyLimitsSchema } from '../../shared/safety-limits.js';

/** The host's version, stamped in at build time. */
export const HOST_VERSION = __CONDUCTOR_FX_VERSION__;

/** Room left in each policy.load reply for the envelope around the rows (ids, cursor, keys). */
const ENVELOPE_ALLOWANCE_BYTES = 4 * 1024;

/** How long a request to the add-on waits by default; the API passes its own timeout for relays. */
const EXTENSION_TIMEOUT_MS = 60_000;

/**
 * Closing the API and flushing the last frames (side by side) get this long, so the host is gone
 * within 1 s of losing its parent, well within Firefox's grace period.
 */
const SHUTDOWN_DRAIN_MS = 400;

export interface HostOptions {
  dataDir: string;
  config: HostConfig;
  /** The add-on's side of native messaging: stdin and stdout in production. */
  input: Readable;
  output: Writable;
  log: Logger;
  pid: number;
  now(): number;
  monotonicMs(): number;
  startApi(ctx: ApiContext): Promise<ApiServer>;
}

/** A started host. */
export interface RunningHost {
  /** Resolves with the exit code once the host has shut down (0: clean; non-zero: fatal). */
  readonly exitCode: Promise<number>;
  /** Flushes, closes the API and the DB, and settles exitCode with `code`; idempotent. */
  shutdown(reason: string, code: number): Promise<void>;
}

/** Everything that lives in the data dir, open and recovered. */
interface Store {
  lock: DataDirLock;
  db: ArtifactDb;
  policy: PolicyStore;
  journal: JournalStore;
  recovery: RecoveryReport;
}

/**
 * Starts the native host: takes the data dir, opens and migrates the DB, runs restart recovery,
 * starts the loopback API, and only then reads the add-on's frames. When the data dir is owned by
 * another live host (or the DB cannot be opened) the host still answers `ping`, and every other
 * request with that error (db_locked with the owner's pid), so the add-on can show why.
 */
export async function startHost(opts: HostOptions): Promise<RunningHost> {
  const { log, config } = opts;
  let store: Store | null = null;
  let storeError: ConductorError | null = null;
  try {
    store = openStore(opts);
  } catch (err) {
    storeError = isConductorError(err) ? err : new ConductorError('internal_error', 'the host could not open its data dir');
    log.error('data dir unavailable; answering requests with the error', { code: storeError.code, message: storeError.message });
  }
  const need = (): Store => {
    if (store === null) throw storeError as ConductorError;
    return store;
  };

  let api: ApiServer | null = null;
  let apiInfo: ApiInfo = { listening: false, port: null, error: storeError === null ? null : 'not started: the data dir is unavailable' };
  let lastSavedAt: number | null = null;
  const startedAt = opts.now();
  let link: NativeExtensionLink | null = null;
  let jobs: JobsService | null = null;
  /** Reads policy.json again (at start, on each hello and reload); a refused file is logged with its field paths. */
  const readPolicy = (): PolicyFileRead => {
    const read = readPolicyFile(opts.dataDir);
    if (read.state.error !== null) log.warn('policy.json refused; the add-on keeps its previous policy', { source: read.state.source, error: read.state.error });
    policy = read;
    return read;
  };
  let policy: PolicyFileRead = { state: { config: null, source: null, error: null }, issues: [] };
  readPolicy();

  const hostStatus = (): HostStatus => {
    const s = need();
    return {
      hostVersion: HOST_VERSION,
      schemaVersion: s.db.schemaVersion,
      dbPath: s.db.path,
      dataDir: opts.dataDir,
      pid: opts.pid,
      startedAt,
      recovery: s.recovery,
      api: apiInfo,
      lastSavedAt,
      extensionConnected: link?.connected ?? false,
      policy: policy.state,
    };
  };

  /** Commits one policy write, stamped now, and remembers it as the last save. */
  const policyWrite = (write: (policy: PolicyStore, at: number) => void): { savedAt: number } => {
    const savedAt = opts.now();
    write(need().policy, savedAt);
    lastSavedAt = savedAt;
    return { savedAt };
  };

  const handlers: MethodHandlers<typeof HOST_METHODS> = {
    ping: () => ({ hostVersion: HOST_VERSION, schemaVersion: store?.db.schemaVersion ?? LATEST_SCHEMA_VERSION }),
    hello: (payload) => {
      const s = need();
      link?.markHello();
      jobs?.dispatcher.kick();
      log.info('add-on said hello', { extensionVersion: payload.extensionVersion, clientId: payload.clientId });
      return { hostVersion: HOST_VERSION, schemaVersion: s.db.schemaVersion, dbPath: s.db.path, recovery: s.recovery, api: apiInfo, policy: readPolicy().state };
    },
    'policy.load': (payload) => need().policy.loadPage(payload.cursor, payload.limit, MAX_HOST_TO_EXTENSION_BYTES - ENVELOPE_ALLOWANCE_BYTES),
    'policy.save': (payload) => policyWrite((policy, at) => policy.save(payload, at)),
    'policy.admit': (payload) => policyWrite((policy, at) => policy.admit(payload, at)),
    'journal.record': (payload) => {
      need().journal.record(payload.entries);
      return { recorded: payload.entries.length };
    },
    'journal.list': (payload) => ({ entries: need().journal.list({ limit: payload.limit, platform: payload.platform }) }),
    'journal.get': (payload) => ({ entry: need().journal.get(payload.requestId) }),
    'status.get': () => hostStatus(),
  };

  let nextId = 0;
  const peer = new RpcPeer({
    send: (_envelope, json) => transport.send(json),
    serves: HOST_METHODS,
    handlers,
    calls: EXTENSION_METHODS,
    inEvents: EXTENSION_EVENTS,
    eventHandlers: { 'relay.chunk': (chunk) => link?.deliverChunk(chunk) },
    outEvents: {},
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    defaultTimeoutMs: EXTENSION_TIMEOUT_MS,
    newId: () => `host-${opts.pid}-${++nextId}`,
    maxOutboundBytes: MAX_HOST_TO_EXTENSION_BYTES,
    onProtocolError: (error) => log.warn('protocol error', { code: error.code, message: error.message }),
  });
  link = new NativeExtensionLink(peer);

  let settleExit: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => {
    settleExit = resolve;
  });
  let stopping: Promise<void> | null = null;
  const shutdown = (reason: string, code: number): Promise<void> => {
    stopping ??= (async () => {
      log.info('host shutting down', { reason, code });
      transport.stop();
      jobs?.stop();
      link?.markClosed();
      try {
        await Promise.all([withinMs(api?.close() ?? Promise.resolve(), SHUTDOWN_DRAIN_MS), withinMs(transport.flush(), SHUTDOWN_DRAIN_MS)]);
        closeStore(store, log);
      } finally {
        // Whatever failed above, the process must still exit (the OS drops the lock then).
        settleExit(code);
      }
    })();
    return stopping;
  };

  const transport = new StdioTransport({
    input: opts.input,
    output: opts.output,
    maxInboundBytes: config.maxInboundBytes,
    onFrame: (text) => peer.receiveJson(text),
    onBadFrame: (error) => log.warn('protocol error', { code: error.code, message: error.message }),
    onClose: () => void shutdown('the add-on closed the pipe', 0),
    onFatal: (error) => {
      log.error('fatal framing error; the stream cannot be re-synchronised', { code: error.code, message: error.message, details: error.details });
      void shutdown('fatal framing error', 1);
    },
  });

  if (store !== null) {
    jobs = new JobsService({
      sqlite: store.db.sqlite,
      link,
      log,
      now: opts.now,
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
      config: config.jobs,
      // policy.json's limits as last read; a refused file leaves the defaults.
      safety: () => SafetyLimitsSchema.catch(SafetyLimitsSchema.parse({})).parse(policy.state.config?.['conversationSafety'] ?? {}),
    });
    const ctx: ApiContext = {
      dataDir: opts.dataDir,
      port: config.apiPort,
      extension: link,
      journal: store.journal,
      hostStatus,
      reloadPolicy: readPolicy,
      log,
      now: opts.now,
      jobs,
    };
    try {
      api = await opts.startApi(ctx);
      apiInfo = api.info;
    } catch (err) {
      apiInfo = { listening: false, port: config.apiPort, error: err instanceof Error ? err.message : String(err) };
    }
    if (apiInfo.error !== null) log.error('api.error: the loopback API is not serving; the add-on still is', { error: apiInfo.error });
  }
  transport.start();
  jobs?.start();
  log.info('host ready', { pid: opts.pid, dataDir: opts.dataDir, schemaVersion: store?.db.schemaVersion ?? null, recovery: store?.recovery ?? null, api: apiInfo });
  return { exitCode, shutdown };
}

function openStore(opts: HostOptions): Store {
  try {
    makeDataDirPrivate(opts.dataDir, { platform: process.platform, uid: process.getuid?.() });
  } catch (err) {
    if (isConductorError(err)) throw err;
    throw new ConductorError('db_error', `could not create the data dir ${opts.dataDir}: ${(err as Error).message}`);
  }
  // A read-only or full data dir fails here first: guarded() gives it its typed reason.
  const lock = guarded('take the data dir lock', () => acquireDataDirLock(opts.dataDir, opts.pid));
  let db: ArtifactDb | null = null;
  try {
    db = openArtifactDb(opts.dataDir);
    const recovery = runRecovery(db.sqlite, { now: opts.now, monotonicMs: opts.monotonicMs, renewalRecoveryDelayMs: opts.config.renewalRecoveryDelayMs });
    return { lock, db, policy: new PolicyStore(db.sqlite, opts.log), journal: new JournalStore(db.sqlite), recovery };
  } catch (err) {
    db?.close();
    lock.release();
    throw err;
  }
}

function closeStore(store: Store | null, log: Logger): void {
  if (store === null) return;
  try {
    // Closing the last connection checkpoints the WAL into the DB file and removes it.
    store.db.close();
  } catch (err) {
    log.error('closing the DB failed', { message: (err as Error).message });
  }
  store.lock.release();
}

function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise.then(() => undefined, () => undefined), expiry]).finally(() => clearTimeout(timer));
}
