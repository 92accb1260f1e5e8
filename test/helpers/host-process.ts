import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { EnvelopeSchema, PROTOCOL_VERSION, type Envelope } from '../../shared/envelope.js';
import { ConductorError } from '../../shared/errors.js';
import {
  EXTENSION_EVENTS,
  EXTENSION_METHODS,
  HOST_METHODS,
  type ExtensionEvent,
  type HostMethod,
  type HostPayload,
  type HostResult,
} from '../../shared/messages.js';
import { RpcPeer, type MethodHandler } from '../../shared/rpc.js';
import { FrameDecoder } from '../../native-host/src/protocol/frame-decoder.js';
import { encodeFrame } from '../../native-host/src/protocol/frame-encoder.js';
import { distPath, REPO_ROOT } from './repo.js';

/** The built host the tests spawn, exactly as Firefox runs it. */
export const HOST_SCRIPT = distPath('native-host', 'host.mjs');
export const ADDON_ID = 'conductor-fx@conductor.local';

/** The fake add-on's answers to the host's requests; a method left out answers unknown_type. */
export type ExtensionHandlers = { [M in keyof typeof EXTENSION_METHODS]?: MethodHandler<(typeof EXTENSION_METHODS)[M]> };

export interface StartHostOptions {
  /** The data dir; a fresh temp dir (removed by dispose) when absent. */
  dataDir?: string;
  /** More environment (CONDUCTOR_FX_API_PORT defaults to 0: a free port). */
  env?: Record<string, string>;
  /** How the fake add-on answers the host's requests. */
  handlers?: ExtensionHandlers;
  /** How long a request to the host may take before it fails with `timeout`. */
  timeoutMs?: number;
}

/** How a host process ended. */
export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned host with a fake add-on speaking framed stdio to it. */
export interface HostHandle {
  readonly pid: number;
  readonly dataDir: string;
  /** Settles when the process has exited and its pipes are drained. */
  readonly exited: Promise<HostExit>;
  /** Sends a request the host serves and resolves with its validated result (rejects with ConductorError). */
  request<M extends HostMethod>(type: M, payload: HostPayload<M>): Promise<HostResult<M>>;
  /** Sends `hello` as the add-on does on connect; after it, apiPort() is known. */
  hello(payload?: HostPayload<'hello'>): Promise<HostResult<'hello'>>;
  /** The loopback API port from the last hello (throws before one). */
  apiPort(): number;
  /** Replaces some of the fake add-on's answers. */
  respondWith(handlers: ExtensionHandlers): void;
  /** Sends an add-on event (relay.chunk). */
  emit<E extends ExtensionEvent>(type: E, payload: z.input<(typeof EXTENSION_EVENTS)[E]>): void;
  /** Writes raw bytes to the host's stdin (malformed frames). */
  writeRaw(bytes: Uint8Array): void;
  /** Writes one JSON text as a frame, whatever it holds. */
  writeFrame(json: string): void;
  /** Resolves with the first envelope from the host (past or future) that matches. */
  waitForEnvelope(match: (env: Envelope) => boolean): Promise<Envelope>;
  /** Every envelope the host sent so far, in order. */
  readonly received: readonly Envelope[];
  /** Byte length of every frame the host sent so far. */
  readonly frameSizes: readonly number[];
  /** All the host wrote to stderr so far. */
  stderr(): string;
  /** Resolves once the host's stderr contains `text` (stderr is a separate pipe, so it may lag a reply). */
  waitForStderr(text: string): Promise<void>;
  /** Closes the host's stdin, as Firefox does when the add-on disconnects. */
  closeStdin(): void;
  /** Closes the reading end of the host's stdout or stderr: its next write there fails with EPIPE. */
  closeOutput(stream: 'stdout' | 'stderr'): void;
  kill(signal?: NodeJS.Signals): void;
  /** Kills the host if it still runs, waits for it, and removes the temp data dir it made. */
  dispose(): Promise<void>;
}

/** Spawns `node dist/native-host/host.mjs <manifest> <add-on id>` with its own data dir and API port 0. */
export function startHost(options: StartHostOptions = {}): HostHandle {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cfx-host-'));
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [HOST_SCRIPT, join(dataDir, 'conductor_fx.json'), ADDON_ID], {
    env: { ...process.env, CONDUCTOR_FX_DATA_DIR: dataDir, CONDUCTOR_FX_API_PORT: '0', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderrText = '';
  const stderrWatchers: { text: string; resolve: () => void }[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderrText += chunk.toString('utf8');
    for (const w of stderrWatchers.filter((x) => stderrText.includes(x.text))) {
      stderrWatchers.splice(stderrWatchers.indexOf(w), 1);
      w.resolve();
    }
  });
  const exited = new Promise<HostExit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  // A host that exited closes its stdin; later writes must not crash the test process.
  child.stdin.on('error', () => undefined);

  const handlers: ExtensionHandlers = { ...options.handlers };
  const received: Envelope[] = [];
  const frameSizes: number[] = [];
  const watchers: { match: (env: Envelope) => boolean; resolve: (env: Envelope) => void }[] = [];
  let hello: HostResult<'hello'> | null = null;
  let nextId = 0;

  const served = Object.fromEntries(
    Object.keys(EXTENSION_METHODS).map((type) => [
      type,
      (payload: unknown) => {
        const handler = handlers[type as keyof ExtensionHandlers] as ((p: unknown) => unknown) | undefined;
        if (handler === undefined) throw new ConductorError('unknown_type', `the fake add-on has no answer for ${type}`);
        return handler(payload);
      },
    ]),
  ) as unknown as ConstructorParameters<typeof RpcPeer<typeof EXTENSION_METHODS, typeof HOST_METHODS, {}, typeof EXTENSION_EVENTS>>[0]['handlers'];
  const peer = new RpcPeer({
    send: (_env, json) => child.stdin.write(encodeFrame(json)),
    serves: EXTENSION_METHODS,
    handlers: served,
    calls: HOST_METHODS,
    inEvents: {},
    outEvents: EXTENSION_EVENTS,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    defaultTimeoutMs: options.timeoutMs ?? 15_000,
    newId: () => `addon-${++nextId}`,
  });

  const decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
  child.stdout.on('data', (chunk: Buffer) => {
    decoder.push(chunk, (body) => {
      frameSizes.push(body.length);
      const text = body.toString('utf8');
      const parsed = EnvelopeSchema.safeParse(JSON.parse(text));
      if (parsed.success) {
        received.push(parsed.data);
        for (const w of watchers.filter((x) => x.match(parsed.data))) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(parsed.data);
        }
      }
      peer.receiveJson(text);
    });
  });
  void exited.then((exit) => peer.failAll(new ConductorError('host_unavailable', `the host exited (${exit.signal ?? `code ${exit.code}`})`)));

  const handle: HostHandle = {
    pid: child.pid as number,
    dataDir,
    exited,
    received,
    frameSizes,
    request: (type, payload) => peer.request(type, payload),
    async hello(payload = { extensionVersion: '0.0.0-test', clientId: 'fake-addon' }) {
      hello = await peer.request('hello', payload);
      return hello;
    },
    apiPort() {
      const port = hello?.api.port;
      if (port === null || port === undefined) throw new Error(`the host reported no API port (hello: ${JSON.stringify(hello?.api ?? null)})`);
      return port;
    },
    respondWith: (more) => Object.assign(handlers, more),
    emit: (type, payload) => peer.emit(type, payload),
    writeRaw: (bytes) => void child.stdin.write(bytes),
    writeFrame: (json) => void child.stdin.write(encodeFrame(json)),
    waitForEnvelope(match) {
      const seen = received.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => watchers.push({ match, resolve }));
    },
    stderr: () => stderrText,
    waitForStderr(text) {
      if (stderrText.includes(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        stderrWatchers.push({ text, resolve });
        void exited.then(() => {
          if (!stderrText.includes(text)) reject(new Error(`the host exited without writing "${text}" to stderr:\n${stderrText}`));
        });
      });
    },
    closeStdin: () => child.stdin.end(),
    closeOutput: (stream) => child[stream].destroy(),
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** A request envelope as the add-on would send it (for tests that write frames by hand). */
export function requestEnvelope(id: string, type: string, payload: unknown = {}): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, kind: 'request', id, type, payload });
}

const BUILD_LOCK = distPath('.host-build.lock');
// Every directory the host bundle imports from (main.ts takes the add-on id from the installer's manifest.ts).
const SOURCES = ['native-host/src', 'shared', 'scripts/install-host'].map((dir) => join(REPO_ROOT, dir));

/**
 * Builds dist/native-host/host.mjs when it is missing or older than its sources. Test files run
 * in parallel, so one build runs at a time (a lock dir) and the others wait for it.
 */
export async function ensureHostBuilt(): Promise<void> {
  mkdirSync(distPath(), { recursive: true });
  for (;;) {
    if (!isStale()) return;
    try {
      mkdirSync(BUILD_LOCK);
    } catch {
      // A lock older than any build is left over from a killed run.
      const lockedAt = statSync(BUILD_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedAt > 120_000) rmSync(BUILD_LOCK, { recursive: true, force: true });
      await sleep(100);
      continue;
    }
    try {
      if (isStale()) {
        const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), 'host'], { cwd: REPO_ROOT, encoding: 'utf8' });
        if (build.status !== 0) throw new Error(`building the host failed: ${build.stderr || build.stdout}`);
      }
      return;
    } finally {
      rmSync(BUILD_LOCK, { recursive: true, force: true });
    }
  }
}

function isStale(): boolean {
  let built: number;
  try {
    built = statSync(HOST_SCRIPT).mtimeMs;
  } catch {
    return true;
  }
  return SOURCES.some((dir) => newestMtime(dir) > built);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
