import { ConductorError, isConductorError } from '../../shared/errors.js';
import type { ExtensionMethod, ExtensionPayload, ExtensionResult } from '../../shared/messages.js';
import type { RelayChunk } from '../../shared/relay.js';
import type { ExtensionLink } from './api/context.js';

/** The part of the host's RpcPeer the link calls through. */
export interface ExtensionCaller {
  request<M extends ExtensionMethod>(type: M, payload: ExtensionPayload<M>, options?: { timeoutMs?: number }): Promise<ExtensionResult<M>>;
  failAll(error: ConductorError): void;
}

/**
 * The add-on at the other end of stdio, as the loopback API uses it: connected from its `hello`
 * until the pipe closes; `relay.chunk` events routed to whoever listens for that request id.
 */
export class NativeExtensionLink implements ExtensionLink {
  private helloSeen = false;
  private closed = false;
  private readonly listeners = new Map<string, Set<(chunk: RelayChunk) => void>>();

  constructor(private readonly caller: ExtensionCaller) {}

  get connected(): boolean {
    return this.helloSeen && !this.closed;
  }

  /** The add-on introduced itself: requests may flow. */
  markHello(): void {
    this.helloSeen = true;
  }

  /** The pipe closed: every request still waiting on the add-on fails with extension_unavailable. */
  markClosed(): void {
    this.closed = true;
    this.caller.failAll(unavailable('the add-on disconnected before answering'));
  }

  request<M extends ExtensionMethod>(type: M, payload: ExtensionPayload<M>, options?: { timeoutMs?: number }): Promise<ExtensionResult<M>> {
    if (!this.connected) return Promise.reject(unavailable('the add-on is not connected to the host'));
    return this.caller.request(type, payload, options).catch((err: unknown) => {
      // The API validated the caller's input, so a schema fault between host and add-on (a version
      // mismatch) is ours, not the caller's: never let it surface as the caller's 400.
      if (isConductorError(err) && err.code === 'bad_payload') {
        throw new ConductorError('internal_error', `the host and the add-on disagree on ${type}: ${err.message}`, err.details);
      }
      throw err;
    });
  }

  onChunk(requestId: string, listener: (chunk: RelayChunk) => void): () => void {
    let set = this.listeners.get(requestId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(requestId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(requestId);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(requestId);
    };
  }

  /** Hands one `relay.chunk` event to the listeners of its request; chunks nobody awaits are dropped. */
  deliverChunk(chunk: RelayChunk): void {
    for (const listener of [...(this.listeners.get(chunk.requestId) ?? [])]) listener(chunk);
  }
}

function unavailable(message: string): ConductorError {
  return new ConductorError('extension_unavailable', message);
}
