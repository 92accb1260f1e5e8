import type { Admission } from '../../../shared/admission.js';
import { ConductorError, type ErrorCode } from '../../../shared/errors.js';
import type { ToPageProxy } from '../../../shared/extension-messages.js';
import type { FromPageProxy } from '../../../shared/extension-messages.js';
import { journalPath, type JournalEntry, type JournalOutcome } from '../../../shared/journal.js';
import type { ContainerId, PlatformId } from '../../../shared/platforms.js';
import { emptyPartial, type PartialStream, type RelayChunk, type RelayRequest, type RelayResponse } from '../../../shared/relay.js';
import { utf8ByteLength } from '../../../shared/utf8.js';
import { classifyProxyError, classifyResponse } from '../policy/classify.js';
import type { Lease, LeaseOutcome, PolicyEngineApi } from '../policy/types.js';
import type { PortLike } from './browser-api.js';
import type { JournalWriter } from './journal-writer.js';
import type { PageProxyTab } from './tab-registry.js';

/** Non-streamed bodies above this many UTF-8 bytes go to the host as relay.chunk events (its frames stay under 1 MiB). */
export const INLINE_BODY_MAX_BYTES = 900_000;
/** Characters per chunk when a large body is split (at most 3 bytes each in UTF-8, plus JSON escaping headroom). */
export const BODY_CHUNK_CHARS = 128 * 1024;

export interface RelayDeps {
  /** The engine once initialized. */
  engine(): Promise<Pick<PolicyEngineApi, 'beginRequest'>>;
  /** Resolves when the policy state is in step with the host (after a reconnect sync). */
  ready(): Promise<void>;
  tabs: { choose(platform: PlatformId, container: ContainerId): PageProxyTab | undefined };
  journal: Pick<JournalWriter, 'writeAhead' | 'record'>;
  /** Sends a relay.chunk event to the host. */
  emitChunk(chunk: RelayChunk): void;
  now(): number;
  platforms: ReadonlySet<PlatformId>;
  /** The page gives up when no byte arrives for this long (upstream_timeout). */
  proxyIdleTimeoutMs(): number;
}

interface InFlight {
  req: RelayRequest;
  lease: Lease;
  tab: PageProxyTab;
  createdAt: number;
  partial: PartialStream;
  resolve(res: RelayResponse): void;
  reject(err: ConductorError): void;
}

/**
 * Orchestrates relayed requests: choose the tab, admit through the policy, write the journal
 * ahead, dispatch to the page proxy, forward chunks, classify the answer into the lease, and
 * journal how it ended. Policy refusals and a missing tab are journalled as `rejected`.
 *
 * Endings that are not the platform's doing complete the lease as `cancelled` (no breaker
 * failure, no backoff): the caller's relay.cancel; a tab closed mid-request (the caller gets
 * network_error with details.tab_closed); the host going away (see abortAll).
 */
export class Relay {
  private readonly waiting = new Map<string, AbortController>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Waiting requests whose host went away: journalled as rejected, so a retry under the same id is fresh. */
  private readonly abandoned = new Set<string>();
  /** Per page port, the requests whose fetch was aborted there and whose final page message has not come back yet. */
  private readonly aborted = new Map<PortLike, Set<string>>();

  constructor(private readonly deps: RelayDeps) {}

  /** Number of requests admitted and dispatched, not yet ended. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Serves one relay.request from the host. */
  async request(req: RelayRequest): Promise<RelayResponse> {
    const createdAt = this.deps.now();
    if (this.waiting.has(req.requestId) || this.inFlight.has(req.requestId)) {
      throw new ConductorError('duplicate_request', `request ${req.requestId} is already running`, { request_id: req.requestId });
    }
    const controller = new AbortController();
    this.waiting.set(req.requestId, controller);
    let lease: Lease;
    let tab: PageProxyTab | undefined;
    try {
      // A request may wait here for the engine to load or the host sync; relay.cancel must still end it.
      await untilAborted(this.deps.ready(), controller.signal, req);
      if (!this.deps.platforms.has(req.platform)) throw new ConductorError('unknown_platform', `platform "${req.platform}" is not configured`, { platform: req.platform });
      if (this.deps.tabs.choose(req.platform, req.container) === undefined) throw noTab(req);
      const engine = await this.deps.engine();
      lease = await engine.beginRequest({ platform: req.platform, clientId: req.clientId }, req.requestId, { container: req.container, maxWaitMs: req.maxWaitMs, signal: controller.signal });
      // The tab may have closed while the request waited for its slot.
      tab = this.deps.tabs.choose(req.platform, req.container);
      if (tab === undefined) {
        lease.complete({ status: 'cancelled', code: 'no_tab', message: 'the tab closed while the request waited' });
        throw noTab(req);
      }
    } catch (err) {
      const error = this.leaveWaiting(req.requestId) ? new ConductorError('host_unavailable', 'the native host went away while the request waited') : asConductorError(err);
      const outcome = error.code === 'cancelled' ? 'cancelled' : 'rejected';
      await this.deps.journal.record(row(req, createdAt, outcome, this.deps.now(), null, error.code));
      throw error;
    }

    try {
      await this.deps.journal.writeAhead(row(req, createdAt, 'admitted', null, lease.admission, null));
    } catch (err) {
      this.leaveWaiting(req.requestId);
      lease.complete({ status: 'cancelled', code: 'host_unavailable', message: 'the write-ahead journal row was not committed' });
      // If the host committed the row but its answer was lost, this row corrects it: nothing was sent, a retry is fresh.
      void this.deps.journal.record(row(req, createdAt, 'rejected', this.deps.now(), lease.admission, 'host_unavailable'));
      throw asConductorError(err);
    }
    this.leaveWaiting(req.requestId);
    if (controller.signal.aborted) {
      lease.complete({ status: 'cancelled', code: 'cancelled' });
      void this.deps.journal.record(row(req, createdAt, 'cancelled', this.deps.now(), lease.admission, 'cancelled'));
      throw cancelledError(req, emptyPartial());
    }
    return this.dispatch(req, lease, tab, createdAt);
  }

  /** Serves relay.cancel: leaves the queue, or aborts the page's fetch; false when the request is unknown. */
  cancel(requestId: string): boolean {
    const waiting = this.waiting.get(requestId);
    if (waiting !== undefined) {
      waiting.abort();
      return true;
    }
    const flight = this.inFlight.get(requestId);
    if (flight === undefined) return false;
    this.abortPage(flight);
    this.finish(flight, { status: 'cancelled', code: 'cancelled' }, 'cancelled', 'cancelled', null);
    flight.reject(cancelledError(flight.req, flight.partial));
    return true;
  }

  /** Takes one validated message from a page proxy; false when it belongs to no request of that port (the caller counts it as dropped). */
  onProxyMessage(port: PortLike, msg: FromPageProxy): boolean {
    const flight = this.inFlight.get(msg.requestId);
    if (flight === undefined || flight.tab.port !== port) return false;
    if (msg.type === 'proxy.chunk') this.onChunk(flight, msg.seq, msg.data);
    else if (msg.type === 'proxy.end') this.onEnd(flight, msg);
    else this.onError(flight, msg);
    return true;
  }

  /**
   * Takes a message the page sent for a request the background already ended and told it to abort:
   * chunks that crossed the abort, then exactly one proxy.end / proxy.error. They are expected (not
   * counted as dropped), and a retry that reuses the id on this tab never receives them. True when taken.
   */
  takeLateMessage(port: PortLike, msg: FromPageProxy): boolean {
    const ids = this.aborted.get(port);
    if (ids === undefined || !ids.has(msg.requestId)) return false;
    if (msg.type !== 'proxy.chunk') {
      ids.delete(msg.requestId);
      if (ids.size === 0) this.aborted.delete(port);
    }
    return true;
  }

  /** A page proxy's port closed (tab closed or navigated): its requests fail with network_error. */
  onPortGone(port: PortLike): void {
    this.aborted.delete(port);
    for (const flight of [...this.inFlight.values()]) {
      if (flight.tab.port !== port) continue;
      this.finish(flight, { status: 'cancelled', code: 'network_error', message: 'the tab closed' }, 'failure', 'network_error', flight.partial.status);
      flight.reject(new ConductorError('network_error', 'the platform tab closed or navigated away mid-request', { tab_closed: true, partial: flight.partial }));
    }
  }

  /**
   * The host went away: nobody can receive these answers. Waiting requests leave the queue
   * (journalled as rejected: never dispatched);
   * dispatched ones are aborted in the page and their leases released, with no final journal
   * row: the host's restart recovery reports their write-ahead row as `interrupted`, since the
   * platform may already have acted on them.
   */
  abortAll(reason: string): void {
    for (const [requestId, controller] of this.waiting) {
      this.abandoned.add(requestId);
      controller.abort();
    }
    for (const flight of [...this.inFlight.values()]) {
      this.abortPage(flight);
      this.inFlight.delete(flight.req.requestId);
      flight.lease.complete({ status: 'cancelled', code: 'host_unavailable', message: reason });
      flight.reject(new ConductorError('host_unavailable', `the native host went away: ${reason}`, { partial: flight.partial }));
    }
  }

  /** Takes a request out of the waiting set; true when the host went away while it waited. */
  private leaveWaiting(requestId: string): boolean {
    this.waiting.delete(requestId);
    return this.abandoned.delete(requestId);
  }

  private dispatch(req: RelayRequest, lease: Lease, tab: PageProxyTab, createdAt: number): Promise<RelayResponse> {
    return new Promise<RelayResponse>((resolve, reject) => {
      const flight: InFlight = { req, lease, tab, createdAt, partial: emptyPartial(), resolve, reject };
      this.inFlight.set(req.requestId, flight);
      const fetch: ToPageProxy = {
        type: 'proxy.fetch',
        requestId: req.requestId,
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body,
        stream: req.stream,
        idleTimeoutMs: this.deps.proxyIdleTimeoutMs(),
      };
      try {
        tab.port.postMessage(fetch);
      } catch {
        this.onPortGone(tab.port);
      }
    });
  }

  private onChunk(flight: InFlight, seq: number, data: string): void {
    flight.partial = { ...flight.partial, receivedChunks: flight.partial.receivedChunks + 1, receivedBytes: flight.partial.receivedBytes + utf8ByteLength(data), lastSeq: seq };
    flight.lease.touch('chunk');
    try {
      this.deps.emitChunk({ requestId: flight.req.requestId, seq, data });
    } catch {
      // The host is gone; its disconnect aborts this request (abortAll).
    }
  }

  private onEnd(flight: InFlight, msg: Extract<FromPageProxy, { type: 'proxy.end' }>): void {
    const outcome = classifyResponse(msg.status, msg.headers, this.deps.now(), msg.body, flight.req.platform);
    flight.partial = { ...flight.partial, status: msg.status };
    if (outcome.status !== 'success') {
      const code = (outcome.code ?? 'network_error') as ErrorCode;
      this.finish(flight, outcome, outcome.status === 'cancelled' ? 'cancelled' : 'failure', code, msg.status);
      const details: Record<string, unknown> = { status: msg.status };
      if (outcome.retryAfterMs !== undefined) details['retry_after_ms'] = outcome.retryAfterMs;
      if (flight.req.stream) details['partial'] = flight.partial;
      flight.reject(new ConductorError(code, `the platform answered HTTP ${msg.status}`, details));
      return;
    }
    let body = msg.body;
    let chunked = body === null;
    if (body !== null && utf8ByteLength(body) > INLINE_BODY_MAX_BYTES) {
      try {
        this.sendBodyInChunks(flight, body);
      } catch {
        // The host is gone; the answer cannot reach anyone, but the outcome still counts.
      }
      body = null;
      chunked = true;
    }
    this.finish(flight, outcome, 'success', null, msg.status);
    flight.resolve({ requestId: flight.req.requestId, status: msg.status, headers: msg.headers, body, bodyLength: msg.bodyLength, chunked, admission: flight.lease.admission });
  }

  private onError(flight: InFlight, msg: Extract<FromPageProxy, { type: 'proxy.error' }>): void {
    const outcome = classifyProxyError(msg.code);
    const code = (outcome.code ?? msg.code) as ErrorCode;
    this.finish(flight, outcome, outcome.status === 'cancelled' ? 'cancelled' : 'failure', code, msg.partial.status);
    flight.reject(new ConductorError(code, msg.message, { partial: msg.partial }));
  }

  private sendBodyInChunks(flight: InFlight, body: string): void {
    let seq = 0;
    let start = 0;
    while (start < body.length) {
      let end = Math.min(body.length, start + BODY_CHUNK_CHARS);
      // Never split a surrogate pair: its halves would not survive UTF-8.
      const last = body.charCodeAt(end - 1);
      if (end < body.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
      this.deps.emitChunk({ requestId: flight.req.requestId, seq: seq++, data: body.slice(start, end) });
      start = end;
    }
  }

  private abortPage(flight: InFlight): void {
    const { port } = flight.tab;
    try {
      port.postMessage({ type: 'proxy.abort', requestId: flight.req.requestId } satisfies ToPageProxy);
    } catch {
      return; // The tab is already gone: nothing left to abort, nothing will come back.
    }
    let ids = this.aborted.get(port);
    if (ids === undefined) {
      ids = new Set();
      this.aborted.set(port, ids);
    }
    ids.add(flight.req.requestId);
  }

  /** Ends a dispatched request once: lease, bookkeeping, final journal row. */
  private finish(flight: InFlight, outcome: LeaseOutcome, journalOutcome: JournalOutcome, errorCode: string | null, httpStatus: number | null): void {
    this.inFlight.delete(flight.req.requestId);
    flight.lease.complete(outcome);
    const entry = row(flight.req, flight.createdAt, journalOutcome, this.deps.now(), flight.lease.admission, errorCode);
    entry.httpStatus = httpStatus;
    void this.deps.journal.record(entry);
  }
}

function row(req: RelayRequest, createdAt: number, outcome: JournalOutcome, finishedAt: number | null, admission: Admission | null, errorCode: string | null): JournalEntry {
  return {
    requestId: req.requestId,
    clientId: req.clientId,
    platform: req.platform,
    method: req.method,
    path: journalPath(req.path),
    outcome,
    createdAt,
    admittedAt: admission?.admittedAt ?? null,
    finishedAt,
    httpStatus: null,
    errorCode,
    admission,
  };
}

function noTab(req: RelayRequest): ConductorError {
  return new ConductorError('no_tab', `no open ${req.platform} tab in container ${req.container} to relay through: open the platform in that container and log in`, {
    platform: req.platform,
    container: req.container,
    client_id: req.clientId,
  });
}

function cancelledError(req: RelayRequest, partial: PartialStream): ConductorError {
  return new ConductorError('cancelled', `request ${req.requestId} was cancelled`, { partial });
}

/** Settles with `promise`, or rejects with `cancelled` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, req: RelayRequest): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelledError(req, emptyPartial()));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError(req, emptyPartial()));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function asConductorError(err: unknown): ConductorError {
  return ConductorError.from(err, 'internal error while relaying the request');
}
