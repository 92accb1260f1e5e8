/**
 * Fakes for the background's unit tests: a manual clock, runtime.Port doubles and a BrowserApi
 * over them, and a fake native host that speaks the real protocol through the real RpcPeer.
 * Only time, chance and the browser are faked; the background code under test is the real one.
 * The clock is the policy engine's FakeClock (re-exported), so both sides of a test share one.
 */
import { RpcPeer, type MethodHandlers } from '../../../shared/rpc.js';
import { EXTENSION_EVENTS, EXTENSION_METHODS, HOST_METHODS, type ExtensionMethod, type ExtensionPayload, type ExtensionResult } from '../../../shared/messages.js';
import type { RelayChunk } from '../../../shared/relay.js';
import type { BrowserApi, PortLike, PortSender } from './browser-api.js';

export { FakeClock, settle } from '../policy/test-clock.js';

/** A runtime.Port double: records what the background posts, lets a test play the other end. */
export class FakePort implements PortLike {
  readonly posted: unknown[] = [];
  error: { message?: string } | null = null;
  /** True once either end disconnected. */
  closed = false;
  /** Called with every message the background posts (after recording it). */
  onPost: ((message: unknown) => void) | null = null;
  private readonly messageListeners: ((message: unknown) => void)[] = [];
  private readonly disconnectListeners: ((port: PortLike) => void)[] = [];

  constructor(
    readonly name: string,
    readonly sender?: PortSender,
  ) {}

  onMessage = { addListener: (listener: (message: unknown) => void) => void this.messageListeners.push(listener) };
  onDisconnect = { addListener: (listener: (port: PortLike) => void) => void this.disconnectListeners.push(listener) };

  postMessage(message: unknown): void {
    // Firefox throws on a disconnected port; so does the double.
    if (this.closed) throw new Error('Attempt to postMessage on disconnected port');
    // Ports structured-clone their messages: the receiver never shares objects with the sender.
    const copy = structuredClone(message);
    this.posted.push(copy);
    this.onPost?.(copy);
  }

  /** The background's own disconnect: Firefox fires no onDisconnect on this side. */
  disconnect(): void {
    this.closed = true;
  }

  /** The other end sends a message. */
  deliver(message: unknown): void {
    for (const l of this.messageListeners) l(structuredClone(message));
  }

  /** The other end goes away, optionally with an error Firefox puts on the port. */
  remoteDisconnect(errorMessage?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.error = errorMessage === undefined ? null : { message: errorMessage };
    for (const l of this.disconnectListeners) l(this);
  }

  /** Messages posted so far with the given `type` field. */
  postedOfType(type: string): Record<string, unknown>[] {
    return this.posted.filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type);
  }
}

export const EXTENSION_ID = 'conductor-fx@conductor.local';
export const EXTENSION_ORIGIN = 'moz-extension://6f1c2a9e-0c4d-4f7b-9a51-3e2d8b7c1f00';

/** A BrowserApi over in-memory storage and FakePorts. */
export class FakeBrowser implements BrowserApi {
  readonly extensionId = EXTENSION_ID;
  readonly storage = new Map<string, unknown>();
  readonly nativePorts: FakePort[] = [];
  readonly createdTabs: string[] = [];
  /** Decides what each connectNative does (attach a fake host, fail, …); by default nothing answers. */
  onConnectNative: (port: FakePort) => void = () => undefined;
  private readonly connectListeners: ((port: PortLike) => void)[] = [];
  private readonly activatedListeners: ((tabId: number) => void)[] = [];
  private readonly removedListeners: ((tabId: number) => void)[] = [];

  connectNative(application: string): PortLike {
    const port = new FakePort(application);
    this.nativePorts.push(port);
    this.onConnectNative(port);
    return port;
  }
  onConnect(listener: (port: PortLike) => void): void {
    this.connectListeners.push(listener);
  }
  onTabActivated(listener: (tabId: number) => void): void {
    this.activatedListeners.push(listener);
  }
  onTabRemoved(listener: (tabId: number) => void): void {
    this.removedListeners.push(listener);
  }
  async createTab(url: string): Promise<void> {
    this.createdTabs.push(url);
  }
  getURL(path: string): string {
    return `${EXTENSION_ORIGIN}/${path.replace(/^\//, '')}`;
  }
  async storageGet(keys: string[] | null): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.storage) if (keys === null || keys.includes(k)) out[k] = structuredClone(v);
    return out;
  }
  async storageSet(items: Record<string, unknown>): Promise<void> {
    for (const [k, v] of Object.entries(items)) this.storage.set(k, structuredClone(v));
  }
  async storageRemove(keys: string[]): Promise<void> {
    for (const k of keys) this.storage.delete(k);
  }

  /** A content script or extension page connects a runtime.Port. */
  connect(port: FakePort): void {
    for (const l of this.connectListeners) l(port);
  }
  activateTab(tabId: number): void {
    for (const l of this.activatedListeners) l(tabId);
  }
  removeTab(tabId: number): void {
    for (const l of this.removedListeners) l(tabId);
  }
}

/** The sender of a page proxy in a tab of `url`. */
export function tabSender(tabId: number, url: string, extra: { cookieStoreId?: string; lastAccessed?: number; id?: string } = {}): PortSender {
  return {
    id: extra.id ?? EXTENSION_ID,
    url,
    frameId: 0,
    tab: { id: tabId, url, cookieStoreId: extra.cookieStoreId ?? 'firefox-default', lastAccessed: extra.lastAccessed ?? 0 },
  };
}

/** Host-side handlers a test may override; the defaults answer like an empty, healthy host. */
export type FakeHostHandlers = MethodHandlers<typeof HOST_METHODS>;

/** The fields a healthy host answers `hello` with. */
export function helloResult(): ExtensionHelloResult {
  return {
    hostVersion: '9.9.9',
    schemaVersion: 1,
    dbPath: '/data/conductor.sqlite',
    recovery: { startedAt: 1, durationMs: 1, recoveredExecutionStateCount: 0, requeuedRenewalJobCount: 0, interruptedRequestCount: 0, recoveryNextAttemptAt: null },
    api: { listening: true, port: 7311, error: null },
    policy: { config: null, source: null, error: null },
  };
}
type ExtensionHelloResult = Awaited<ReturnType<FakeHostHandlers['hello']>>;

/**
 * A native host on the far end of a FakePort, built on the real RpcPeer: it validates what the
 * background sends exactly as the real host would, and can call the add-on's methods.
 */
export class FakeHost {
  readonly calls: { type: string; payload: unknown }[] = [];
  readonly chunks: RelayChunk[] = [];
  /** Every envelope the host received, in order (requests, events and responses). */
  readonly received: { kind: string; type: string }[] = [];
  private readonly peer: RpcPeer<typeof HOST_METHODS, typeof EXTENSION_METHODS, typeof EXTENSION_EVENTS, Record<string, never>>;

  constructor(
    readonly port: FakePort,
    overrides: Partial<FakeHostHandlers> = {},
  ) {
    const record =
      <T>(type: string, fn: (payload: never) => T) =>
      (payload: never): T => {
        this.calls.push({ type, payload });
        return fn(payload);
      };
    const defaults: FakeHostHandlers = {
      ping: () => ({ hostVersion: '9.9.9', schemaVersion: 1 }),
      hello: () => helloResult(),
      'policy.load': () => ({ targets: [], platforms: [], system: null, nextCursor: null }),
      'policy.save': () => ({ savedAt: 1_700_000_000_500 }),
      'policy.admit': () => ({ savedAt: 1_700_000_000_500 }),
      'journal.record': (p) => ({ recorded: p.entries.length }),
      'journal.list': () => ({ entries: [] }),
      'journal.get': () => ({ entry: null }),
      'status.get': () => {
        throw new Error('not used by the background');
      },
    };
    const merged = { ...defaults, ...overrides } as FakeHostHandlers;
    const handlers = Object.fromEntries(Object.entries(merged).map(([k, fn]) => [k, record(k, fn as (p: never) => unknown)])) as unknown as FakeHostHandlers;
    let nextId = 0;
    this.peer = new RpcPeer({
      send: (env) => queueMicrotask(() => port.closed || port.deliver(env)),
      serves: HOST_METHODS,
      handlers,
      calls: EXTENSION_METHODS,
      inEvents: EXTENSION_EVENTS,
      eventHandlers: { 'relay.chunk': (chunk) => void this.chunks.push(chunk) },
      outEvents: {},
      timers: { setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms), clearTimeout: (h) => globalThis.clearTimeout(h as number) },
      defaultTimeoutMs: 60_000,
      newId: () => `host-${++nextId}`,
    });
    port.onPost = (message) => {
      const env = message as { kind?: string; type?: string };
      this.received.push({ kind: String(env.kind), type: String(env.type) });
      this.peer.receive(message);
    };
  }

  /** Calls a method the add-on serves, as the real host does for an automation client. */
  request<M extends ExtensionMethod>(type: M, payload: ExtensionPayload<M>): Promise<ExtensionResult<M>> {
    return this.peer.request(type, payload as never) as Promise<ExtensionResult<M>>;
  }

  /** Payloads of the calls of one method, in order. */
  callsOf(type: string): unknown[] {
    return this.calls.filter((c) => c.type === type).map((c) => c.payload);
  }
}
