import type { Readable, Writable } from 'node:stream';
import { ConductorError } from '../../shared/errors.js';
import { HOST_METHODS, MAX_HOST_TO_EXTENSION_BYTES } from '../../shared/messages.js';
import { RpcPeer } from '../../shared/rpc.js';
import { FrameDecoder } from '../../native-host/src/protocol/frame-decoder.js';
import { encodeFrame } from '../../native-host/src/protocol/frame-encoder.js';

/** A started host as the ping needs it; Node's ChildProcess with piped stdio fits. */
export interface HostProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  kill(signal: NodeJS.Signals): boolean;
}

/** What the ping found: the host's versions, or one sentence saying what went wrong. */
export type PingOutcome =
  | { ok: true; hostVersion: string; schemaVersion: number; elapsedMs: number; exitedOnClose: boolean }
  | { ok: false; problem: string };

/** How long to wait for the answer, and for the exit once stdin is closed. */
export interface PingTiming {
  answerMs: number;
  exitMs: number;
}

const STDERR_TAIL_CHARS = 600;
const NO_TABLE = {} as const;

/**
 * Sends one framed `ping` to a started host, as the add-on would, then closes stdin and waits for the host
 * to exit. Never throws; the host is killed if it outlives the wait.
 */
export async function pingHost(child: HostProcess, timing: PingTiming): Promise<PingOutcome> {
  const stderr = keepTail(child.stderr);
  const peer = new RpcPeer({
    send: (_envelope, json) => child.stdin.write(encodeFrame(json)),
    serves: NO_TABLE,
    handlers: NO_TABLE,
    calls: { ping: HOST_METHODS.ping },
    inEvents: NO_TABLE,
    outEvents: NO_TABLE,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    defaultTimeoutMs: timing.answerMs,
    newId: () => 'install-host-status',
  });
  // 'close', not 'exit': it comes after the host's stderr is fully read, so the tail in the message is complete.
  const ended = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      peer.failAll(new ConductorError('host_unavailable', `the host exited (${signal ?? `code ${code}`}) before answering`));
      resolve();
    });
    child.once('error', (err) => {
      peer.failAll(new ConductorError('host_unavailable', `the launcher could not be started: ${err.message}`));
      resolve();
    });
  });
  // A host that dies early fails our write with EPIPE; its exit is what gets reported.
  child.stdin.on('error', () => undefined);
  readFrames(child.stdout, (text) => peer.receiveJson(text), (problem) => peer.failAll(new ConductorError('too_large', problem)));

  const started = performance.now();
  let outcome: PingOutcome;
  try {
    const result = await peer.request('ping', {});
    outcome = { ok: true, ...result, elapsedMs: Math.round(performance.now() - started), exitedOnClose: false };
  } catch (err) {
    outcome = { ok: false, problem: describeFailure(err, timing.answerMs, stderr()) };
  }
  // Firefox closes stdin when the add-on disconnects; a host must exit then. After a failed ping
  // there is nothing left to learn, so the host is not given the time.
  child.stdin.end();
  const exitedOnClose = outcome.ok && (await settlesWithin(ended, timing.exitMs));
  if (!exitedOnClose) {
    // SIGKILL: a host that ignores its closed stdin may ignore SIGTERM as well.
    child.kill('SIGKILL');
    await settlesWithin(ended, timing.exitMs);
  }
  // Whatever still holds the pipes' other ends (an orphan of cmd.exe on Windows) must not keep us running.
  child.stdout.destroy();
  child.stderr.destroy();
  return outcome.ok ? { ...outcome, exitedOnClose } : outcome;
}

function describeFailure(err: unknown, answerMs: number, stderrTail: string): string {
  const tail = stderrTail === '' ? '' : `; its stderr ends with: ${stderrTail}`;
  if (!(err instanceof ConductorError)) return `the ping failed: ${String(err)}${tail}`;
  switch (err.code) {
    case 'timeout':
      return `no answer to ping within ${answerMs / 1000} s: the host is stuck starting or does not speak the conductor-fx protocol${tail}`;
    case 'host_unavailable':
    case 'too_large':
      return `${err.message}${tail}`;
    case 'bad_payload':
      return `${err.message}: the host is not the conductor-fx host, or speaks another protocol version`;
    default:
      return `the host answered the ping with ${err.code}: ${err.message}`;
  }
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), expiry]).finally(() => clearTimeout(timer));
}

/** Hands each native-messaging frame of a byte stream to `deliver`; a frame over Firefox's 1 MiB cap ends the reading. */
function readFrames(stream: Readable, deliver: (text: string) => void, fail: (problem: string) => void): void {
  const decoder = new FrameDecoder(MAX_HOST_TO_EXTENSION_BYTES);
  const onData = (chunk: Buffer): void => {
    try {
      decoder.push(chunk, (body) => deliver(body.toString('utf8')));
    } catch (err) {
      stream.off('data', onData);
      const declared = err instanceof ConductorError ? err.details?.['declared_bytes'] : undefined;
      fail(`the host announced a ${String(declared)}-byte frame, over Firefox's ${MAX_HOST_TO_EXTENSION_BYTES}-byte cap`);
    }
  };
  stream.on('data', onData);
}

/** Keeps the last characters a stream writes (the host's log on stderr) for the failure message. */
function keepTail(stream: Readable): () => string {
  let tail = '';
  stream.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  });
  return () => tail.trim();
}
