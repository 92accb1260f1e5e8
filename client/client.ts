import { randomBytes } from 'node:crypto';
import { lstat, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { isValidApiProof } from '../native-host/src/api/api-proof.js';
import { notOwnDir, resolveDataDir } from '../native-host/src/data-dir.js';
import {
  API_PORT_FILE,
  API_PROOF_PATH,
  API_SOCKET_FILE,
  ApiProofResponseSchema,
  API_TOKEN_FILE,
  ApiBrowserStatusSchema,
  ApiErrorResponseSchema,
  ApiJournalResponseSchema,
  ApiPausedResponseSchema,
  type ApiPolicyReloadResponse,
  ApiPolicyReloadResponseSchema,
  type ApiBrowserStatus,
  type ApiRelayRequestInput,
  type ApiRelayResponse,
  ApiRelayResponseSchema,
  ApiResetResponseSchema,
  API_PORT_ENV,
  DEFAULT_API_PORT,
  SSE_EVENTS,
  type StreamEnd,
  StreamEndSchema,
  type StreamEvent,
  StreamErrorSchema,
  StreamEventSchema,
} from '../shared/api.js';
import { ConductorError } from '../shared/errors.js';
import type { JournalEntry, JournalOutcome } from '../shared/journal.js';
import type { RelayRequestInput } from '../shared/relay.js';
import { SseDecoder } from '../shared/sse.js';
import { type HostAddress, sendHttp } from './http-transport.js';


/** What the host-not-running error tells a person to do. */
export const HOST_UNAVAILABLE_MESSAGE = 'Firefox with conductor-fx is not running or the host is not registered: run `npm run install-host -- status`';

/** A relay request as a program writes it: the request id and client id may be left out. */
export type RelayInput = Omit<RelayRequestInput, 'requestId' | 'clientId' | 'stream'> & { requestId?: string; clientId?: string; stream?: boolean };

/**
 * Where the host is and the token. Over TCP (`baseUrl`, e.g. http://127.0.0.1:7311) the server
 * must first prove it holds the token (GET /v1/auth/proof) on every call, or the token is not
 * sent; over the host's Unix socket (`socketPath`) the data dir's permissions vouch for it.
 */
export type ConductorClientOptions = { baseUrl: string; token: string } | { socketPath: string; token: string };

/** Per-call options. */
export interface CallOptions {
  /** Aborting a streamed call closes the connection, which makes the host cancel the relay. */
  signal?: AbortSignal;
}

function toWire(input: RelayInput, stream: boolean): ApiRelayRequestInput {
  return {
    platform: input.platform,
    method: input.method,
    path: input.path,
    stream,
    ...(input.clientId === undefined ? {} : { client_id: input.clientId }),
    ...(input.requestId === undefined ? {} : { request_id: input.requestId }),
    ...(input.headers === undefined ? {} : { headers: input.headers }),
    ...(input.body === undefined ? {} : { body: input.body }),
    ...(input.maxWaitMs === undefined ? {} : { max_wait_ms: input.maxWaitMs }),
  };
}

/** The host's socket in a data dir when it can be trusted: dir and socket are this user's, nobody else may write the dir. */
async function ownSocket(dataDir: string): Promise<string | null> {
  const uid = process.getuid?.();
  if (process.platform === 'win32' || uid === undefined) return null;
  const path = join(dataDir, API_SOCKET_FILE);
  const [dir, socket] = await Promise.all([stat(dataDir).catch(() => null), lstat(path).catch(() => null)]);
  if (dir === null || socket === null || !socket.isSocket() || socket.uid !== uid) return null;
  return notOwnDir(dataDir, dir, uid) === null ? path : null;
}

function unexpected(what: string): ConductorError {
  return new ConductorError('internal_error', `unexpected answer from the host (${what}); is a conductor-fx host listening on that port?`);
}

function parseAnswer<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw unexpected(`${what} did not match its schema`);
  return parsed.data;
}

function cancelled(): ConductorError {
  return new ConductorError('cancelled', 'the call was aborted by its caller');
}

/** A network failure of a call as host_unavailable; the refused-connection case says what to run. */
function networkError(err: unknown, baseUrl: string): ConductorError {
  if (err instanceof ConductorError) return err;
  if (err instanceof Error && err.name === 'AbortError') return cancelled();
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOENT') return new ConductorError('host_unavailable', `${HOST_UNAVAILABLE_MESSAGE} (nothing listens at ${baseUrl})`);
  return new ConductorError('host_unavailable', `the connection to the host at ${baseUrl} failed (${typeof code === 'string' ? code : 'network error'})`);
}

/** The typed client of the loopback API; every answer is validated with the shared schemas. */
export class ConductorClient {
  /** Where the host is: http://127.0.0.1:<port>, or unix:<socket path>. */
  readonly baseUrl: string;
  private readonly address: HostAddress;
  private readonly token: string;

  constructor(options: ConductorClientOptions) {
    if ('socketPath' in options) {
      this.address = { kind: 'socket', path: options.socketPath };
      this.baseUrl = `unix:${options.socketPath}`;
    } else {
      const url = new URL(options.baseUrl);
      this.address = { kind: 'tcp', hostname: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
      this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    }
    this.token = options.token;
  }

  /**
   * A client for the host of a data dir (default: $CONDUCTOR_FX_DATA_DIR or the OS default)
   * with the token from `api-token`. It talks over `<data dir>/api.sock` when that socket and
   * the dir are this user's own (Linux, macOS); else over TCP to the port in `api-port` (what the
   * host bound), else $CONDUCTOR_FX_API_PORT, else 7311, where the server must prove itself first.
   */
  static async fromDataDir(dataDir = resolveDataDir({ platform: process.platform, homedir: homedir(), env: process.env })): Promise<ConductorClient> {
    const token = await readFile(join(dataDir, API_TOKEN_FILE), 'utf8').catch(() => null);
    if (token === null || token.trim() === '') {
      throw new ConductorError('host_unavailable', `${HOST_UNAVAILABLE_MESSAGE} (no ${API_TOKEN_FILE} in ${dataDir}: the host has not run with this data dir)`);
    }
    const socketPath = await ownSocket(dataDir);
    if (socketPath !== null) return new ConductorClient({ socketPath, token: token.trim() });
    const written = Number((await readFile(join(dataDir, API_PORT_FILE), 'utf8').catch(() => '')).trim());
    const fromEnv = Number(process.env[API_PORT_ENV]);
    const port = Number.isInteger(written) && written > 0 ? written : Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_API_PORT;
    return new ConductorClient({ baseUrl: `http://127.0.0.1:${port}`, token: token.trim() });
  }

  /** GET /v1/browser: the status the popup shows plus the host's own; `platform` narrows it. */
  async browser(platform?: string): Promise<ApiBrowserStatus> {
    const query = platform === undefined ? '' : `?platform=${encodeURIComponent(platform)}`;
    return parseAnswer(ApiBrowserStatusSchema, await this.call('GET', `/v1/browser${query}`), 'browser status');
  }

  /** POST /v1/browser/request without streaming; rejects with the ConductorError the host answered. */
  async relay(input: RelayInput, options: CallOptions = {}): Promise<ApiRelayResponse> {
    if (input.stream === true) throw new ConductorError('bad_payload', 'relay() answers whole bodies; use relayStream() for stream: true');
    return parseAnswer(ApiRelayResponseSchema, await this.call('POST', '/v1/browser/request', toWire(input, false), options), 'relay response');
  }

  /**
   * POST /v1/browser/request with `stream: true`: each piece goes to `onChunk` in `seq` order;
   * resolves with the stream's end. A stream that breaks off rejects with stream_error whose
   * details.partial says what had arrived.
   */
  async relayStream(input: RelayInput, onChunk: (chunk: StreamEvent) => void, options: CallOptions = {}): Promise<StreamEnd> {
    const res = await this.send('POST', '/v1/browser/request', toWire(input, true), options);
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await this.failOn(res);
      throw unexpected('a streamed request was not answered with an event stream');
    }
    const decoder = new SseDecoder();
    const text = new TextDecoder();
    let received = { chunks: 0, bytes: 0, lastSeq: -1 };
    const broke = (message: string) =>
      new ConductorError('stream_error', message, { partial: { receivedChunks: received.chunks, receivedBytes: received.bytes, lastSeq: received.lastSeq, status: null } });
    try {
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const message of decoder.push(text.decode(part, { stream: true }))) {
          if (message.event === SSE_EVENTS.event) {
            const event = parseAnswer(StreamEventSchema, JSON.parse(message.data), 'stream_event');
            received = { chunks: received.chunks + 1, bytes: received.bytes + Buffer.byteLength(event.data), lastSeq: event.seq };
            onChunk(event);
          } else if (message.event === SSE_EVENTS.end) {
            return parseAnswer(StreamEndSchema, JSON.parse(message.data), 'stream_end');
          } else if (message.event === SSE_EVENTS.error) {
            const error = parseAnswer(StreamErrorSchema, JSON.parse(message.data), 'stream_error');
            throw new ConductorError(error.code, error.message, { ...error.details, partial: error.partial });
          }
        }
      }
    } catch (err) {
      if (err instanceof ConductorError) throw err;
      // node:http ends the body of an aborted call with a premature-close error, not an AbortError.
      if (options.signal?.aborted === true || (err instanceof Error && err.name === 'AbortError')) throw cancelled();
      throw broke(`the stream from the host broke off (${err instanceof Error ? err.message : 'read error'})`);
    }
    throw broke('the stream from the host ended without stream_end');
  }

  /** GET /v1/journal: the request journal, newest first. */
  async journal(query: { limit?: number; platform?: string; outcome?: JournalOutcome } = {}): Promise<JournalEntry[]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const suffix = params.size === 0 ? '' : `?${params.toString()}`;
    return parseAnswer(ApiJournalResponseSchema, await this.call('GET', `/v1/journal${suffix}`), 'journal').entries;
  }

  /** Resets one target's circuit, backoff and failure count. */
  async reset(platform: string, clientId: string): Promise<{ reset: boolean }> {
    const path = `/v1/browser/targets/${encodeURIComponent(platform)}/${encodeURIComponent(clientId)}/reset`;
    return parseAnswer(ApiResetResponseSchema, await this.call('POST', path), 'reset');
  }

  /** Pauses all dispatch (the reason shows in the popup and status). */
  async pause(reason: string): Promise<{ paused: boolean }> {
    return parseAnswer(ApiPausedResponseSchema, await this.call('POST', '/v1/system/pause', { reason }), 'pause');
  }

  /** Resumes dispatch. */
  async resume(): Promise<{ paused: boolean }> {
    return parseAnswer(ApiPausedResponseSchema, await this.call('POST', '/v1/system/resume'), 'resume');
  }

  /** Re-reads `<data dir>/policy.json` on the host and applies it in the add-on (bad_payload names the refused fields). */
  async reloadPolicy(): Promise<ApiPolicyReloadResponse> {
    return parseAnswer(ApiPolicyReloadResponseSchema, await this.call('POST', '/v1/policy/reload'), 'policy reload');
  }

  /** One JSON call: the parsed body of a 2xx, else the host's error as a ConductorError. */
  private async call(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<unknown> {
    const res = await this.send(method, path, body, options);
    await this.failOn(res);
    try {
      return await res.json();
    } catch (err) {
      throw options.signal?.aborted === true ? cancelled() : unexpected('the body was not JSON');
    }
  }

  private async send(method: string, path: string, body: unknown, options: CallOptions): Promise<Response> {
    await this.proveHost(options);
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json, text/event-stream' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await sendHttp(this.address, {
        method,
        path,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (err) {
      throw networkError(err, this.baseUrl);
    }
  }

  /**
   * Makes a TCP server prove it holds the token before the token is sent: anyone may listen on a
   * loopback port while the host is down. Asked on every call, so a host that stopped since the
   * last call cannot have been replaced in between.
   */
  private async proveHost(options: CallOptions): Promise<void> {
    // Over the socket the data dir's permissions already vouch for the host.
    if (this.address.kind !== 'tcp') return;
    const nonce = randomBytes(32).toString('base64url');
    const unproven = (why: string) =>
      new ConductorError(
        'host_unavailable',
        `the server at ${this.baseUrl} did not prove it is the conductor-fx host holding your token (${why}), so the token was not sent: another program may hold the port. ${HOST_UNAVAILABLE_MESSAGE}`,
      );
    let res: Response;
    try {
      res = await sendHttp(this.address, { method: 'GET', path: `${API_PROOF_PATH}?nonce=${nonce}`, headers: { accept: 'application/json' }, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    } catch (err) {
      throw networkError(err, this.baseUrl);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw unproven(`HTTP ${res.status}`);
    }
    const answer = ApiProofResponseSchema.safeParse(await res.json().catch(() => null));
    if (!answer.success) throw unproven('no proof in its answer');
    if (!isValidApiProof(answer.data.proof, this.token, this.address.port, nonce)) throw unproven('a wrong proof');
  }

  /** Throws the host's error for a non-2xx answer. */
  private async failOn(res: Response): Promise<void> {
    if (res.ok) return;
    const parsed = ApiErrorResponseSchema.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw unexpected(`HTTP ${res.status} without an error body`);
    const { retry_after_ms: _repeat, ...body } = parsed.data.error;
    throw ConductorError.fromBody(body);
  }
}
