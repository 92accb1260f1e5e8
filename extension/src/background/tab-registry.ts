import { ContainerIdSchema, DEFAULT_CONTAINER, type ContainerId, type PlatformId } from '../../../shared/platforms.js';
import type { PlatformTabsSchema } from '../../../shared/status.js';
import type { z } from 'zod';
import type { PortLike } from './browser-api.js';

/** One live page proxy: a platform tab whose content script holds a port to the background. */
export interface PageProxyTab {
  tabId: number;
  platform: PlatformId;
  /** The tab's container (cookie store); null when Firefox did not say (taken as the default container). */
  cookieStoreId: string | null;
  port: PortLike;
  /** When the user last focused the tab (epoch ms). */
  focusedAt: number;
}

/**
 * The live page proxies per tab. Chooses the tab a request goes through: the most recently
 * focused tab of the platform in the container the request names, and never one of another
 * container: that would send the prompt with another account's session.
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

  /** The tab a request on `platform` through `container` goes through, or undefined when that container has none. */
  choose(platform: PlatformId, container: ContainerId): PageProxyTab | undefined {
    let best: PageProxyTab | undefined;
    for (const t of this.tabs.values()) {
      if (t.platform !== platform || containerOf(t) !== container) continue;
      if (best === undefined || t.focusedAt > best.focusedAt) best = t;
    }
    return best;
  }

  /** Tabs per platform, and the containers (accounts) they are in. */
  summary(): z.infer<typeof PlatformTabsSchema>[] {
    const byPlatform = new Map<PlatformId, { tabs: number; containers: Set<ContainerId> }>();
    for (const t of this.tabs.values()) {
      const entry = byPlatform.get(t.platform) ?? { tabs: 0, containers: new Set<ContainerId>() };
      entry.tabs += 1;
      const container = containerOf(t);
      if (ContainerIdSchema.safeParse(container).success) entry.containers.add(container);
      byPlatform.set(t.platform, entry);
    }
    return [...byPlatform.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([platform, e]) => ({ platform, tabs: e.tabs, containers: [...e.containers].sort() }));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

/** A tab's container; a tab Firefox gave none is in the default one. */
function containerOf(tab: PageProxyTab): string {
  return tab.cookieStoreId ?? DEFAULT_CONTAINER;
}
