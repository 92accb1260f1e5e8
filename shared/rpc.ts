import type { z } from 'zod';
import { PROTOCOL_VERSION, EnvelopeSchema, readEnvelopeId, readEnvelopeType, type Envelope } from './envelope.js';
import { ConductorError, type ErrorBody } from './errors.js';

/** What a side knows of one method: the payload it takes and the result it gives. */
export interface MethodSchemas {
  payload: z.ZodType;
  result: z.ZodType;
}
export type MethodTable = Record<string, MethodSchemas>;
export type EventTable = Record<string, z.ZodType>;

/** Serves one method: gets the validated payload, returns the result (validated before it is sent). */
export type MethodHandler<S extends MethodSchemas> = (payload: z.infer<S['payload']>) => Promise<z.input<S['result']>> | z.input<S['result']>;
export type MethodHandlers<T extends MethodTable> = { [M in keyof T]: MethodHandler<T[M]> };
export type EventHandlers<T extends EventTable> = { [E in keyof T]?: (payload: z.infer<T[E]>) => void };

export interface RpcTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RpcPeerOptions<Serves extends MethodTable, Calls extends MethodTable, InEvents extends EventTable, OutEvents extends EventTable> {
  /** Hands one envelope to the transport; `json` is its serialized form (measured against maxOutboundBytes). */
  send(envelope: Envelope, json: string): void;
  serves: Serves;
  handlers: MethodHandlers<Serves>;
  calls: Calls;
  inEvents: InEvents;
  eventHandlers?: EventHandlers<InEvents>;
  outEvents: OutEvents;
  timers: RpcTimers;
  /** How long a request waits for its response before it fails with `timeout`. */
  defaultTimeoutMs: number;
  newId(): string;
  /** Largest serialized envelope this side may send (the host: Firefox's 1 MiB). */
  maxOutboundBytes?: number;
  /** Told of every message that could not be answered (no readable id) or a handler fault. */
  onProtocolError?(error: ErrorBody): void;
}

interface Pending {
  type: string;
  resolve(value: unknown): void;
  reject(err: ConductorError): void;
  timer: unknown;
}

const encoder = new TextEncoder();

/**
 * A symmetric request/response/event peer over the protocol envelope. Both the native host
 * and the add-on's native port use it; the transport (framed stdio, runtime.Port) stays outside.
 */
export class RpcPeer<Serves extends MethodTable, Calls extends MethodTable, InEvents extends EventTable, OutEvents extends EventTable> {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly opts: RpcPeerOptions<Serves, Calls, InEvents, OutEvents>) {}

  /** Number of requests still waiting for their response. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends a request and resolves with its validated result, or rejects with a ConductorError. */
  request<M extends keyof Calls & string>(
    type: M,
    payload: z.input<Calls[M]['payload']>,
    options: { timeoutMs?: number } = {},
  ): Promise<z.infer<Calls[M]['result']>> {
    const id = this.opts.newId();
    const env: Envelope = { v: PROTOCOL_VERSION, kind: 'request', id, type, payload };
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.opts.defaultTimeoutMs;
      const timer = this.opts.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(new ConductorError('timeout', `no answer to ${type} within ${timeoutMs} ms`, { type, timeout_ms: timeoutMs }));
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer });
      try {
        this.transmit(env);
      } catch (err) {
        this.settle(id)?.reject(asConductorError(err));
      }
    });
  }

  /** Sends an event (no reply). */
  emit<E extends keyof OutEvents & string>(type: E, payload: z.input<OutEvents[E]>): void {
    this.transmit({ v: PROTOCOL_VERSION, kind: 'event', id: this.opts.newId(), type, payload });
  }

  /** Fails every pending request with the given error (the transport went away). */
  failAll(error: ConductorError): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
  }

  /** Takes one decoded JSON text from the transport. */
  receiveJson(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.opts.onProtocolError?.({ code: 'bad_json', message: 'frame is not valid JSON' });
      return;
    }
    this.receive(raw);
  }

  /** Takes one parsed message from the transport; never throws. */
  receive(raw: unknown): void {
    const parsed = EnvelopeSchema.safeParse(raw);
    if (!parsed.success) {
      const error: ErrorBody = { code: 'bad_envelope', message: 'message does not match the envelope schema', details: { issues: issueList(parsed.error) } };
      this.answerUnparsed(raw, error);
      return;
    }
    const env = parsed.data;
    if (env.kind === 'request') void this.serve(env.id, env.type, env.payload);
    else if (env.kind === 'event') this.dispatchEvent(env.type, env.payload);
    else if (env.ok) this.complete(env.id, env.type, env.payload);
    else this.settle(env.id)?.reject(ConductorError.fromBody(env.error));
  }

  private async serve(id: string, type: string, payload: unknown): Promise<void> {
    const schemas = Object.hasOwn(this.opts.serves, type) ? this.opts.serves[type] : undefined;
    if (schemas === undefined) {
      this.respondError(id, type, { code: 'unknown_type', message: `unknown message type "${type}"` });
      return;
    }
    const input = schemas.payload.safeParse(payload);
    if (!input.success) {
      this.respondError(id, type, { code: 'bad_payload', message: `payload of ${type} is invalid`, details: { issues: issueList(input.error) } });
      return;
    }
    try {
      const handler = this.opts.handlers[type as keyof Serves] as MethodHandler<MethodSchemas>;
      const result = schemas.result.parse(await handler(input.data));
      this.respondOk(id, type, result);
    } catch (err) {
      const body = asConductorError(err).toBody();
      if (!(err instanceof ConductorError)) this.opts.onProtocolError?.(body);
      this.respondError(id, type, body);
    }
  }

  private dispatchEvent(type: string, payload: unknown): void {
    const schema = Object.hasOwn(this.opts.inEvents, type) ? this.opts.inEvents[type] : undefined;
    const parsed = schema?.safeParse(payload);
    if (parsed === undefined || !parsed.success) {
      this.opts.onProtocolError?.({ code: parsed === undefined ? 'unknown_type' : 'bad_payload', message: `event ${type} dropped` });
      return;
    }
    const handler = this.opts.eventHandlers?.[type as keyof InEvents] as ((payload: unknown) => void) | undefined;
    handler?.(parsed.data);
  }

  private complete(id: string, type: string, payload: unknown): void {
    const pending = this.settle(id);
    if (pending === undefined) return; // late answer to a timed-out request
    const schemas = this.opts.calls[pending.type];
    const result = schemas?.result.safeParse(payload);
    if (result?.success) pending.resolve(result.data);
    else pending.reject(new ConductorError('bad_payload', `result of ${type} is invalid`, result ? { issues: issueList(result.error) } : undefined));
  }

  private settle(id: string): Pending | undefined {
    const pending = this.pending.get(id);
    if (pending === undefined) return undefined;
    this.pending.delete(id);
    this.opts.timers.clearTimeout(pending.timer);
    return pending;
  }

  private answerUnparsed(raw: unknown, error: ErrorBody): void {
    const id = readEnvelopeId(raw);
    const kind = typeof raw === 'object' && raw !== null ? (raw as { kind?: unknown }).kind : undefined;
    if (id !== undefined && kind !== 'response' && kind !== 'event') {
      // The reply echoes the type only when it is a valid one, or the reply itself would be no envelope.
      this.respondError(id, readEnvelopeType(raw) ?? 'error', error);
    } else if (id !== undefined && kind === 'response') {
      this.settle(id)?.reject(new ConductorError(error.code, error.message, error.details));
    } else {
      this.opts.onProtocolError?.(error);
    }
  }

  private respondOk(id: string, type: string, payload: unknown): void {
    try {
      this.transmit({ v: PROTOCOL_VERSION, kind: 'response', id, type, ok: true, payload });
    } catch (err) {
      this.respondError(id, type, asConductorError(err).toBody());
    }
  }

  private respondError(id: string, type: string, error: ErrorBody): void {
    try {
      this.transmit({ v: PROTOCOL_VERSION, kind: 'response', id, type, ok: false, error });
    } catch {
      // The transport is gone; nothing can carry the answer.
      this.opts.onProtocolError?.(error);
    }
  }

  private transmit(env: Envelope): void {
    const json = JSON.stringify(env);
    const max = this.opts.maxOutboundBytes;
    // Byte length, not characters: the cap and the frame header count bytes.
    if (max !== undefined && json.length * 3 > max && encoder.encode(json).length > max) {
      throw new ConductorError('too_large', `${env.type} message exceeds ${max} bytes`, { max_bytes: max });
    }
    this.opts.send(env, json);
  }
}

/** The first issues of a failed parse as `{path, message}` pairs, for details.issues. */
export function issueList(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message }));
}

function asConductorError(err: unknown): ConductorError {
  return ConductorError.from(err, 'internal error while handling the message');
}
