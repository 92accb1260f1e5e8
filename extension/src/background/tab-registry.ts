import type { ClientId, PlatformId } from '../../../shared/platforms.js';
import { ClientIdSchema } from '../../../shared/platforms.js';
import type { PlatformTabsSchema } from '../../../shared/status.js';
import type { z } from 'zod';
import type { PortLike } from './browser-api.js';

/** Firefox's cookie store of tabs outside any container. */
const DEFAULT_COOKIE_STORE = 'firefox-default';

/** One live page proxy: a platform tab whose content script holds a port to the background. */
export interface PageProxyTab {
  tabId: number;
  platform: PlatformId;
  /** The tab's container (cookie store); null when Firefox did not say. */
  cookieStoreId: string | null;
  port: PortLike;
  /** When the user last focused the tab (epoch ms). */
  focusedAt: number;
}

/**
 * The live page proxies per tab. Chooses the tab a request goes through: the tab in the
 * container the client id names, if there is one; else the most recently focused tab of the
 * platform.
 */
export class TabRegistry {
  private readonly tabs = new Map<number, PageProxyTab>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly now: () => number) {}

  /** Registers (or replaces, after a navigation) the page proxy of a tab. */
  add(tab: PageProxyTab): void {
    this.tabs.set(tab.tabId, tab);
    this.changed();
  }

  /** Forgets a tab's page proxy if `port` is still the one registered for it; true when it did. */
  removePort(tabId: number, port: PortLike): boolean {
    if (this.tabs.get(tabId)?.port !== port) return false;
    this.tabs.delete(tabId);
    this.changed();
    return true;
  }

  /** Forgets a closed tab. */
  removeTab(tabId: number): void {
    if (this.tabs.delete(tabId)) this.changed();
  }

  /** The user focused a tab. */
  focus(tabId: number): void {
    const tab = this.tabs.get(tabId);
    if (tab !== undefined) tab.focusedAt = this.now();
  }

  /** The tab a request of `clientId` on `platform` goes through, or undefined when there is none. */
  choose(platform: PlatformId, clientId: ClientId): PageProxyTab | undefined {
    const candidates = [...this.tabs.values()].filter((t) => t.platform === platform);
    const inContainer = candidates.filter((t) => t.cookieStoreId === clientId);
    const pool = inContainer.length > 0 ? inContainer : candidates;
    return pool.sort((a, b) => b.focusedAt - a.focusedAt)[0];
  }

  /** Tabs per platform, and the containers (usable as client ids) they are in. */
  summary(): z.infer<typeof PlatformTabsSchema>[] {
    const byPlatform = new Map<PlatformId, { tabs: number; clients: Set<ClientId> }>();
    for (const t of this.tabs.values()) {
      const entry = byPlatform.get(t.platform) ?? { tabs: 0, clients: new Set<ClientId>() };
      entry.tabs += 1;
      if (t.cookieStoreId !== null && t.cookieStoreId !== DEFAULT_COOKIE_STORE && ClientIdSchema.safeParse(t.cookieStoreId).success) entry.clients.add(t.cookieStoreId);
      byPlatform.set(t.platform, entry);
    }
    return [...byPlatform.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([platform, e]) => ({ platform, tabs: e.tabs, clients: [...e.clients].sort() }));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
