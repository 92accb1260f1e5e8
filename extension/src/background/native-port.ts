import { ConductorError, type ErrorCode } from '../../../shared/errors.js';
import { EXTENSION_EVENTS, EXTENSION_METHODS, HOST_METHODS, type ExtensionEventPayload, type HostMethod, type HostPayload, type HostResult } from '../../../shared/messages.js';
import { DEFAULT_CLIENT_ID } from '../../../shared/platforms.js';
import { RpcPeer, type MethodHandlers } from '../../../shared/rpc.js';
import type { HostLink } from '../../../shared/status.js';
import type { BrowserApi, PortLike } from './browser-api.js';

/** The native application name registered by install-host. */
export const NATIVE_HOST_NAME = 'conductor_fx';

/** Time and chance as the link uses them; tests inject a fake clock. */
export interface LinkClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Uniform in [0, 1). */
  random(): number;
}

export interface ReconnectBackoff {
  baseMs: number;
  maxMs: number;
}

/**
 * Reconnect delays: exponential from 0.5 s, capped at 10 s, "equal jitter" (half fixed, half
 * random) so many profiles do not retry in lockstep. The cap is well inside the 30 s an
 * automation client (and the e2e suite) waits for a host that was registered again.
 */
export const DEFAULT_RECONNECT_BACKOFF: ReconnectBackoff = { baseMs: 500, maxMs: 10_000 };

/** How long a request to the host may wait for its answer. */
export const DEFAULT_HOST_TIMEOUT_MS = 15_000;

/** The exponential delay for attempt `attempt` (1-based): base · 2^(attempt-1), capped at max. */
export function backoffCeiling(attempt: number, backoff: ReconnectBackoff): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 30));
}

/** The delay before reconnect attempt `attempt` (1-based). */
export function reconnectDelay(attempt: number, backoff: ReconnectBackoff, random: () => number): number {
  const ceiling = backoffCeiling(attempt, backoff);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface NativeLinkOptions {
  browser: Pick<BrowserApi, 'connectNative'>;
  clock: LinkClock;
  extensionVersion: string;
  /** Serves the host's requests (relay, status, control). */
  handlers: MethodHandlers<typeof EXTENSION_METHODS>;
  requestTimeoutMs?: number;
  backoff?: ReconnectBackoff;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

type Session = RpcPeer<typeof EXTENSION_METHODS, typeof HOST_METHODS, Record<string, never>, typeof EXTENSION_EVENTS>;

/**
 * Owns the native port: connects, says hello on every connect, serves the host's requests,
 * fails every pending request with Firefox's `port.error` reason when the port drops, and
 * reconnects with capped exponential backoff. "Connected" means hello was answered.
 */
export class NativeLink {
  private port: PortLike | null = null;
  private session: Session | null = null;
  private helloDone = false;
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private stopped = true;
  private nextId = 0;
  private link: HostLink = {
    connected: false,
    reason: 'connecting to the native host',
    hostVersion: null,
    schemaVersion: null,
    dbPath: null,
    lastSavedAt: null,
    storeError: null,
    lastConnectedAt: null,
    recovery: null,
    api: null,
  };
  private readonly stateListeners = new Set<() => void>();
  private readonly connectedListeners = new Set<(hello: HostResult<'hello'>) => void>();
  private readonly disconnectedListeners = new Set<(reason: string) => void>();

  constructor(private readonly opts: NativeLinkOptions) {}

  /** The host as the popup and GET /v1/browser show it. */
  get state(): HostLink {
    return { ...this.link };
  }

  get connected(): boolean {
    return this.helloDone;
  }

  /** Connects now (and keeps reconnecting until stop()). */
  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes the port and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== null) this.opts.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const port = this.port;
    if (port !== null) {
      port.disconnect();
      this.dropped(port, 'stopped');
    }
  }

  /** Called after every state change of the link. */
  onStateChange(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called after each successful hello (every (re)connect), with the host's answer. */
  onConnected(listener: (hello: HostResult<'hello'>) => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  /** Called when a connected or connecting port drops, before any reconnect. */
  onDisconnected(listener: (reason: string) => void): () => void {
    this.disconnectedListeners.add(listener);
    return () => this.disconnectedListeners.delete(listener);
  }

  /** Calls a host method; rejects with host_unavailable unless hello was answered on the current port. */
  request<M extends HostMethod>(type: M, payload: HostPayload<M>, options: { timeoutMs?: number } = {}): Promise<HostResult<M>> {
    if (!this.helloDone || this.session === null) return Promise.reject(this.unavailable());
    return this.session.request(type, payload as never, options) as Promise<HostResult<M>>;
  }

  /** Sends a `relay.chunk` event; throws host_unavailable when there is no connected host. */
  emitChunk(chunk: ExtensionEventPayload<'relay.chunk'>): void {
    if (!this.helloDone || this.session === null) throw this.unavailable();
    this.session.emit('relay.chunk', chunk);
  }

  /** Records when the host last confirmed a policy save: it has caught up, so no store error stands. */
  noteSaved(savedAt: number): void {
    this.update({ lastSavedAt: savedAt, storeError: null });
  }

  /** Records why the host could not store a policy write; the first failure's time is kept until a save succeeds. */
  noteStoreError(code: ErrorCode, message: string): void {
    this.update({ storeError: { code, message, since: this.link.storeError?.since ?? this.opts.clock.now() } });
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.stopped || this.port !== null) return;
    let port: PortLike;
    try {
      port = this.opts.browser.connectNative(NATIVE_HOST_NAME);
    } catch (err) {
      this.update({ connected: false, reason: err instanceof Error ? err.message : String(err) });
      this.scheduleReconnect();
      return;
    }
    this.port = port;
    const session: Session = new RpcPeer({
      send: (env) => {
        if (this.port !== port) throw this.unavailable();
        port.postMessage(env);
      },
      serves: EXTENSION_METHODS,
      handlers: this.opts.handlers,
      calls: HOST_METHODS,
      inEvents: {},
      outEvents: EXTENSION_EVENTS,
      timers: this.opts.clock,
      defaultTimeoutMs: this.opts.requestTimeoutMs ?? DEFAULT_HOST_TIMEOUT_MS,
      newId: () => `x${(++this.nextId).toString(36)}`,
      onProtocolError: (error) => this.opts.log?.('native port protocol error', { code: error.code, message: error.message }),
    });
    this.session = session;
    port.onMessage.addListener((message) => {
      if (this.port === port) session.receive(message);
    });
    port.onDisconnect.addListener((p) => this.dropped(port, p.error?.message ?? port.error?.message ?? 'the native host exited'));
    void this.hello(port, session);
  }

  private async hello(port: PortLike, session: Session): Promise<void> {
    try {
      const result = await session.request('hello', { extensionVersion: this.opts.extensionVersion, clientId: DEFAULT_CLIENT_ID });
      if (this.port !== port) return;
      this.helloDone = true;
      this.attempt = 0;
      this.update({
        connected: true,
        reason: null,
        hostVersion: result.hostVersion,
        schemaVersion: result.schemaVersion,
        dbPath: result.dbPath,
        recovery: result.recovery,
        api: result.api,
        lastConnectedAt: this.opts.clock.now(),
      });
      for (const l of this.connectedListeners) l(result);
    } catch (err) {
      if (this.port !== port) return;
      // A host that does not answer hello is of no use: drop it and retry on the backoff.
      port.disconnect();
      this.dropped(port, err instanceof Error ? `hello failed: ${err.message}` : 'hello failed');
    }
  }

  private dropped(port: PortLike, reason: string): void {
    if (this.port !== port) return;
    const session = this.session;
    this.port = null;
    this.session = null;
    this.helloDone = false;
    session?.failAll(new ConductorError('host_unavailable', `the native host disconnected: ${reason}`, { reason }));
    this.update({ connected: false, reason });
    for (const l of this.disconnectedListeners) l(reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer !== null) return;
    this.attempt += 1;
    const delay = reconnectDelay(this.attempt, this.opts.backoff ?? DEFAULT_RECONNECT_BACKOFF, () => this.opts.clock.random());
    this.reconnectTimer = this.opts.clock.setTimeout(() => this.connect(), delay);
  }

  private unavailable(): ConductorError {
    const reason = this.link.reason ?? 'not connected';
    return new ConductorError('host_unavailable', `the native host is not connected: ${reason}`, { reason });
  }

  private update(patch: Partial<HostLink>): void {
    this.link = { ...this.link, ...patch };
    for (const l of this.stateListeners) l();
  }
}
