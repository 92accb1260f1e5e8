import type { StreamEvent } from '../../../shared/api.js';
import { ConductorError } from '../../../shared/errors.js';
import type { PartialStream, RelayChunk, RelayRequest, RelayResponse } from '../../../shared/relay.js';
import type { ExtensionLink, Logger } from './context.js';

/**
 * How long the host waits for the add-on's answer to one relay. Only a backstop: the add-on
 * bounds each relay itself (waiter timeout, upstream idle timeout, stale-lease sweep), and a
 * streamed answer may legitimately run for many minutes.
 */
export const RELAY_BACKSTOP_TIMEOUT_MS = 60 * 60_000;

/** A finished relay: the add-on's answer with the body reassembled from its chunks (null when streamed). */
export interface RelayResult {
  response: RelayResponse;
  body: string | null;
}

/**
 * One relayed request in flight, shared by every HTTP caller that sent its request id. Chunks
 * are put in `seq` order and kept, so a caller that joins late still sees the stream from the
 * start; a streamed run keeps at most `joinKeepBytes` of them (a stream may run for hours), and
 * past that it is no longer `joinable`. When the last caller goes away before the end, the
 * add-on is told to cancel.
 */
export class RelayRun {
  readonly result: Promise<RelayResult>;
  /** True once relay.request went to the add-on. */
  dispatched = false;
  /** The events so far, in order, while kept (a whole body is always kept: it is the answer). */
  private readonly delivered: StreamEvent[] = [];
  private readonly early = new Map<number, string>();
  /** The seq the next in-order chunk has. */
  private nextSeq = 0;
  private receivedBytes = 0;
  private kept = true;
  private readonly listeners = new Set<(event: StreamEvent) => void>();
  private attached = 0;
  private settled = false;
  private cancelled = false;

  constructor(
    readonly request: RelayRequest,
    readonly fingerprint: string,
    private readonly link: ExtensionLink,
    private readonly log: Logger,
    /** Checks made before dispatch (add-on connected, platform known); throws to reject. */
    preflight: () => Promise<void>,
    private readonly joinKeepBytes: number,
  ) {
    this.result = this.execute(preflight).finally(() => {
      this.settled = true;
      this.listeners.clear();
    });
    // Callers attach their own handlers; this one keeps an unobserved rejection from crashing the host.
    this.result.catch(() => undefined);
  }

  /**
   * Adds a caller. `listener` first gets every event so far, then each new one in order.
   * Returns the detach function; detaching the last caller before the end cancels the relay.
   */
  attach(listener?: (event: StreamEvent) => void): () => void {
    this.attached += 1;
    if (listener !== undefined) {
      for (const event of this.delivered) listener(event);
      if (!this.settled) this.listeners.add(listener);
    }
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      this.attached -= 1;
      if (listener !== undefined) this.listeners.delete(listener);
      if (this.attached === 0 && !this.settled) this.cancel();
    };
  }

  /** Whether a caller joining now can still be given the stream from seq 0. */
  get joinable(): boolean {
    return this.kept;
  }

  /** What the stream had delivered so far (for stream_error). */
  partial(status: number | null = null): PartialStream {
    return { receivedChunks: this.nextSeq, receivedBytes: this.receivedBytes, lastSeq: this.nextSeq - 1, status };
  }

  private async execute(preflight: () => Promise<void>): Promise<RelayResult> {
    await preflight();
    if (this.cancelled) throw new ConductorError('cancelled', `request ${this.request.requestId} was cancelled by its caller before dispatch`);
    const unsubscribe = this.link.onChunk(this.request.requestId, (chunk) => this.accept(chunk));
    let response: RelayResponse;
    try {
      this.dispatched = true;
      response = await this.link.request('relay.request', this.request, { timeoutMs: RELAY_BACKSTOP_TIMEOUT_MS });
    } finally {
      unsubscribe();
    }
    if (response.chunked && this.early.size > 0) {
      throw new ConductorError('stream_error', `the body of ${this.request.requestId} arrived with chunks missing`, { ...this.partial(response.status) });
    }
    const body = response.chunked && !this.request.stream ? this.delivered.map((e) => e.data).join('') : response.body;
    return { response, body };
  }

  /** Takes one relay.chunk: duplicates are dropped, early ones wait for the gap before them. */
  private accept(chunk: RelayChunk): void {
    if (chunk.seq < this.nextSeq || this.early.has(chunk.seq)) return;
    this.early.set(chunk.seq, chunk.data);
    for (let data = this.early.get(this.nextSeq); data !== undefined; data = this.early.get(this.nextSeq)) {
      this.early.delete(this.nextSeq);
      const event: StreamEvent = { seq: this.nextSeq, data };
      this.nextSeq += 1;
      this.receivedBytes += Buffer.byteLength(data);
      this.keep(event);
      for (const listener of this.listeners) listener(event);
    }
  }

  /** Keeps an event for late joiners, until a stream passes joinKeepBytes: then none are kept. */
  private keep(event: StreamEvent): void {
    if (!this.kept) return;
    if (this.request.stream && this.receivedBytes > this.joinKeepBytes) {
      this.kept = false;
      this.delivered.length = 0;
      return;
    }
    this.delivered.push(event);
  }

  private cancel(): void {
    this.cancelled = true;
    if (!this.dispatched) return;
    this.link.request('relay.cancel', { requestId: this.request.requestId }).then(
      ({ cancelled }) => this.log.info('relay cancelled: its caller went away', { requestId: this.request.requestId, cancelled }),
      (err: unknown) => this.log.warn('relay.cancel failed', { requestId: this.request.requestId, code: err instanceof ConductorError ? err.code : 'internal_error' }),
    );
  }
}
