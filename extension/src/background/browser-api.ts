/**
 * The one module of the background that touches `browser.*`. Everything else takes a
 * BrowserApi, so unit tests hand in a fake and the cores never see the WebExtension globals.
 */

/** Who opened a runtime.Port, as Firefox reports it (only what the sender check reads). */
export interface PortSender {
  id?: string | undefined;
  url?: string | undefined;
  frameId?: number | undefined;
  tab?: { id?: number | undefined; url?: string | undefined; cookieStoreId?: string | undefined; lastAccessed?: number | undefined } | undefined;
}

/** A runtime.Port (native or internal) reduced to what the background uses. */
export interface PortLike {
  readonly name: string;
  readonly sender?: PortSender | undefined;
  /** Set by Firefox on a port that disconnected because of an error (e.g. "No such native application conductor_fx"). */
  readonly error?: { message?: string } | null | undefined;
  postMessage(message: unknown): void;
  disconnect(): void;
  onMessage: { addListener(listener: (message: unknown) => void): void };
  onDisconnect: { addListener(listener: (port: PortLike) => void): void };
}

/** Everything the background asks of the browser. */
export interface BrowserApi {
  /** This add-on's id (runtime.id): what a genuine sender carries. */
  readonly extensionId: string;
  /** runtime.connectNative. */
  connectNative(application: string): PortLike;
  /** runtime.onConnect: ports from content scripts and extension pages. */
  onConnect(listener: (port: PortLike) => void): void;
  /** tabs.onActivated: the tab the user focused. */
  onTabActivated(listener: (tabId: number) => void): void;
  /** tabs.onRemoved. */
  onTabRemoved(listener: (tabId: number) => void): void;
  /** tabs.create (test build: the popup as a tab the e2e driver can read). */
  createTab(url: string): Promise<void>;
  /** runtime.getURL. */
  getURL(path: string): string;
  /** storage.local.get; null reads every key. */
  storageGet(keys: string[] | null): Promise<Record<string, unknown>>;
  storageSet(items: Record<string, unknown>): Promise<void>;
  storageRemove(keys: string[]): Promise<void>;
}

/** The BrowserApi over Firefox's real `browser` global. */
export function realBrowserApi(): BrowserApi {
  return {
    extensionId: browser.runtime.id,
    connectNative: (application) => browser.runtime.connectNative(application) as PortLike,
    onConnect: (listener) => browser.runtime.onConnect.addListener((port) => listener(port as PortLike)),
    onTabActivated: (listener) => browser.tabs.onActivated.addListener((info) => listener(info.tabId)),
    onTabRemoved: (listener) => browser.tabs.onRemoved.addListener((tabId) => listener(tabId)),
    createTab: async (url) => {
      await browser.tabs.create({ url });
    },
    getURL: (path) => browser.runtime.getURL(path),
    storageGet: (keys) => browser.storage.local.get(keys) as Promise<Record<string, unknown>>,
    storageSet: (items) => browser.storage.local.set(items),
    storageRemove: (keys) => browser.storage.local.remove(keys),
  };
}
