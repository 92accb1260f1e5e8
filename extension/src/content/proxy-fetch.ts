import { ToPageProxySchema, type FromPageProxy, type ToPageProxy } from '../../../shared/extension-messages.js';
import { RequestIdSchema } from '../../../shared/journal.js';
import { emptyPartial, type PartialStream } from '../../../shared/relay.js';

type ProxyFetchMessage = Extract<ToPageProxy, { type: 'proxy.fetch' }>;
type ProxyErrorCode = Extract<FromPageProxy, { type: 'proxy.error' }>['code'];

/** The timers the proxy arms its idle timeouts with; tests pass fake ones. */
export interface ProxyTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the page proxy runs with: the page's fetch and origin, timers, and where its answers go. */
export interface PageProxyOptions {
  /** The fetch that runs as the page (its cookies, its Origin and Referer). */
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  /** The page's origin, e.g. https://claude.ai: every request must stay on it. */
  origin: string;
  timers: ProxyTimers;
  /** Sends one message back to the background. */
  post: (message: FromPageProxy) => void;
}

/**
 * Response headers never handed back: the session travels in cookies, and a relayed answer must
 * not leak it to the automation client (fetch already hides set-cookie; this is the backstop).
 */
const WITHHELD_RESPONSE_HEADERS = new Set(['set-cookie', 'set-cookie2', 'cookie', 'authorization', 'proxy-authorization']);

/** proxy.error messages are capped at this length by ProxyErrorSchema. */
const MAX_ERROR_MESSAGE = 1024;

/** Why a request stopped before its body ended (set by abort or the idle timer). */
type StopReason = { code: 'cancelled' | 'upstream_timeout'; message: string };

/** Thrown inside a request when it was stopped; carries the reason to the catch. */
class Stopped extends Error {
  constructor(readonly reason: StopReason) {
    super(reason.message);
  }
}

/** One request in flight: its abort handle, idle timer and what it has received so far. */
interface Flight {
  readonly controller: AbortController;
  idleTimer: unknown;
  reason: StopReason | null;
  /** Rejects when the request is stopped, so every await can race it. */
  readonly stopped: Promise<never>;
  stop(reason: StopReason): void;
  status: number | null;
  chunks: number;
  bytes: number;
}

/** The response headers handed back to the background, minus cookies and credentials. */
export function passedResponseHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (!WITHHELD_RESPONSE_HEADERS.has(lower)) out[lower] = value;
  });
  return out;
}

/** The absolute URL of `path` on `origin`, or null when it would leave that origin. */
export function sameOriginUrl(path: string, origin: string): string | null {
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\')) return null;
  let url: URL;
  try {
    url = new URL(path, origin);
  } catch {
    return null;
  }
  return url.origin === origin ? url.href : null;
}

/**
 * Executes relayed requests as the page it runs in and reports each one back as chunks and an
 * end, or an error carrying what was received. Knows nothing of browser.*: the entry script
 * hands it the page's fetch and a post function.
 */
export class PageProxy {
  private readonly flights = new Map<string, Flight>();

  constructor(private readonly options: PageProxyOptions) {}

  /**
   * Validates one raw message from the background and handles it. A fetch whose only fault is
   * its path is answered with bad_path (the caller learns why); anything else malformed is
   * dropped, since only the background can reach this port. Returns whether it was accepted.
   */
  receive(raw: unknown): boolean {
    const parsed = ToPageProxySchema.safeParse(raw);
    if (parsed.success) {
      this.handle(parsed.data);
      return true;
    }
    const fields: Record<string, unknown> = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const requestId = RequestIdSchema.safeParse(fields['requestId']);
    const onlyPath = parsed.error.issues.every((issue) => issue.path.length === 1 && issue.path[0] === 'path');
    if (fields['type'] === 'proxy.fetch' && requestId.success && onlyPath) {
      this.options.post(errorMessage(requestId.data, 'bad_path', 'the path is not a same-origin relative path', emptyPartial()));
    }
    return false;
  }

  /** Handles one validated message from the background. */
  handle(message: ToPageProxy): void {
    if (message.type === 'proxy.abort') this.abort(message.requestId);
    else void this.run(message);
  }

  /** Stops one request; it ends with proxy.error `cancelled`. Unknown ids are ignored (it already ended). */
  abort(requestId: string): void {
    this.flights.get(requestId)?.stop({ code: 'cancelled', message: 'aborted by the caller' });
  }

  /** Stops every request in flight (the port to the background closed: nobody is listening). */
  abortAll(): void {
    for (const flight of this.flights.values()) flight.stop({ code: 'cancelled', message: 'the background disconnected' });
  }

  /** How many requests are in flight. */
  get inFlight(): number {
    return this.flights.size;
  }

  private async run(req: ProxyFetchMessage): Promise<void> {
    const { post } = this.options;
    const url = sameOriginUrl(req.path, this.options.origin);
    if (url === null) {
      post(errorMessage(req.requestId, 'bad_path', 'the path is not a same-origin relative path', emptyPartial()));
      return;
    }
    if (this.flights.has(req.requestId)) {
      // A second fetch under a live id would interleave two bodies under one seq counter.
      post(errorMessage(req.requestId, 'network_error', 'a request with this id is already in flight on this page', emptyPartial()));
      return;
    }
    const flight = this.startFlight(req);
    this.flights.set(req.requestId, flight);
    let seq = 0;
    try {
      const response = await Promise.race([
        this.options.fetch(url, {
          method: req.method,
          // Checked by ToPageProxySchema (RequestHeadersSchema): no header the browser owns, none malformed.
          headers: req.headers,
          body: req.body,
          // The page's own session cookies go along: the request runs as the logged-in page.
          credentials: 'include',
          // Only the first URL was checked: a followed redirect (an open redirect on the platform)
          // would carry the body, and the page's cookies, to any origin.
          redirect: 'manual',
          cache: 'no-store',
          signal: flight.controller.signal,
        }),
        flight.stopped,
      ]).catch((err: unknown) => {
        throw err instanceof Stopped ? err : new FetchFailed(err);
      });
      // Firefox answers a redirect in manual mode with an opaque response that hides its Location,
      // so no hop can be checked: none is followed.
      if (response.type === 'opaqueredirect') throw new Redirected();
      flight.status = response.status;
      this.touch(flight, req);
      const decoder = new TextDecoder();
      let whole = '';
      const emit = (text: string): void => {
        if (text === '') return;
        if (!req.stream) {
          whole += text;
          return;
        }
        post({ type: 'proxy.chunk', requestId: req.requestId, seq, data: text });
        seq += 1;
        flight.chunks += 1;
      };
      if (response.body !== null) {
        const reader = response.body.getReader();
        try {
          for (;;) {
            const { done, value } = await Promise.race([reader.read(), flight.stopped]);
            if (done) break;
            flight.bytes += value.byteLength;
            this.touch(flight, req);
            emit(decoder.decode(value, { stream: true }));
          }
        } finally {
          // Release the upstream body when we stopped early; a finished stream ignores this.
          reader.cancel().catch(() => undefined);
        }
      }
      emit(decoder.decode());
      this.finish(flight);
      post({
        type: 'proxy.end',
        requestId: req.requestId,
        status: response.status,
        headers: passedResponseHeaders(response.headers),
        body: req.stream ? null : whole,
        bodyLength: flight.bytes,
      });
    } catch (err) {
      this.finish(flight);
      const partial: PartialStream = { receivedChunks: flight.chunks, receivedBytes: flight.bytes, lastSeq: seq - 1, status: flight.status };
      post(errorFor(req.requestId, err, partial));
    } finally {
      this.flights.delete(req.requestId);
    }
  }

  private startFlight(req: ProxyFetchMessage): Flight {
    const controller = new AbortController();
    let reject: (err: Stopped) => void = () => undefined;
    const stopped = new Promise<never>((_, rej) => {
      reject = rej;
    });
    // Nobody may be awaiting it when it rejects (between awaits); that is not an unhandled error.
    stopped.catch(() => undefined);
    const flight: Flight = {
      controller,
      idleTimer: null,
      reason: null,
      stopped,
      status: null,
      chunks: 0,
      bytes: 0,
      stop: (reason) => {
        if (flight.reason !== null) return;
        flight.reason = reason;
        reject(new Stopped(reason));
        controller.abort();
      },
    };
    this.touch(flight, req);
    return flight;
  }

  /** Re-arms the idle timer: the request is alive as long as bytes keep coming. */
  private touch(flight: Flight, req: ProxyFetchMessage): void {
    const { timers } = this.options;
    if (flight.idleTimer !== null) timers.clearTimeout(flight.idleTimer);
    flight.idleTimer = timers.setTimeout(
      () => flight.stop({ code: 'upstream_timeout', message: `no byte from the platform for ${req.idleTimeoutMs} ms` }),
      req.idleTimeoutMs,
    );
  }

  private finish(flight: Flight): void {
    if (flight.idleTimer !== null) this.options.timers.clearTimeout(flight.idleTimer);
    flight.idleTimer = null;
  }
}

/** fetch() itself rejected: nothing came back from the platform. */
class FetchFailed extends Error {
  constructor(cause: unknown) {
    super(describe(cause));
  }
}

/** The platform answered with a redirect, which the page does not follow. */
class Redirected extends Error {}

function errorFor(requestId: string, err: unknown, partial: PartialStream): FromPageProxy {
  if (err instanceof Stopped) return errorMessage(requestId, err.reason.code, err.reason.message, partial);
  if (err instanceof Redirected) {
    return errorMessage(requestId, 'cross_origin_redirect', 'the platform answered with a redirect whose target the page cannot see; it was not followed', partial);
  }
  if (err instanceof FetchFailed) return errorMessage(requestId, 'network_error', `the page could not reach the platform: ${err.message}`, partial);
  return errorMessage(requestId, 'stream_error', `the response body broke off: ${describe(err)}`, partial);
}

function errorMessage(requestId: string, code: ProxyErrorCode, message: string, partial: PartialStream): FromPageProxy {
  return { type: 'proxy.error', requestId, code, message: message.slice(0, MAX_ERROR_MESSAGE), partial };
}

/** An error's message only: no stack, and never request or response data. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
