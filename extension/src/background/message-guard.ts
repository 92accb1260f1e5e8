import { FromPageProxySchema, PopupCommandSchema, type FromPageProxy, type PopupCommand } from '../../../shared/extension-messages.js';
import { PLATFORM_ORIGINS, TEST_PLATFORM, type PlatformId } from '../../../shared/platforms.js';
import type { PortSender } from './browser-api.js';

/**
 * The origins of the test build's mock platform (test-origin.ts), or null in the release build.
 * The build decides it (see main.ts), so the release bundle holds no test origin at all.
 */
export type TestOrigin = RegExp | null;

/** Platforms the add-on can relay to in this build. */
export function knownPlatforms(testOrigin: TestOrigin): ReadonlySet<PlatformId> {
  const ids: PlatformId[] = Object.keys(PLATFORM_ORIGINS);
  return new Set(testOrigin !== null ? [...ids, TEST_PLATFORM] : ids);
}

/** The platform a page URL belongs to, or null when its origin is not exactly a platform origin. */
export function platformOfUrl(url: string | undefined, testOrigin: TestOrigin): PlatformId | null {
  if (url === undefined) return null;
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return null;
  }
  for (const [platform, platformOrigin] of Object.entries(PLATFORM_ORIGINS)) if (origin === platformOrigin) return platform;
  return testOrigin?.test(origin) === true ? TEST_PLATFORM : null;
}

/** A page proxy whose sender passed the check. */
export interface CheckedPageProxy {
  platform: PlatformId;
  tabId: number;
  cookieStoreId: string | null;
  lastAccessed: number;
}

/**
 * Checks who opened a page-proxy port: this add-on's own content script (sender.id), in the top
 * frame of a tab whose origin is a platform origin. Anything else is refused.
 */
export function checkPageProxySender(sender: PortSender | undefined, extensionId: string, testOrigin: TestOrigin): CheckedPageProxy | null {
  if (sender === undefined || sender.id !== extensionId || sender.frameId !== 0) return null;
  const tabId = sender.tab?.id;
  if (tabId === undefined || tabId < 0) return null;
  // The tab's URL and the frame's URL must agree: a platform frame inside a foreign page is not the platform.
  const platform = platformOfUrl(sender.tab?.url ?? sender.url, testOrigin);
  if (platform === null || platformOfUrl(sender.url, testOrigin) !== platform) return null;
  return { platform, tabId, cookieStoreId: sender.tab?.cookieStoreId ?? null, lastAccessed: sender.tab?.lastAccessed ?? 0 };
}

/** Checks who opened a popup port: a page of this add-on (its id and its moz-extension:// origin). */
export function checkPopupSender(sender: PortSender | undefined, extensionId: string, extensionBaseUrl: string): boolean {
  if (sender === undefined || sender.id !== extensionId || sender.url === undefined) return false;
  try {
    return new URL(sender.url).origin === new URL(extensionBaseUrl).origin;
  } catch {
    return false;
  }
}

/** A message from a page proxy, validated; null when it does not match the schema. */
export function parsePageProxyMessage(raw: unknown): FromPageProxy | null {
  const parsed = FromPageProxySchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** A popup command, validated; null when it does not match the schema. */
export function parsePopupCommand(raw: unknown): PopupCommand | null {
  const parsed = PopupCommandSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** Counts what was dropped (BrowserStatus.droppedMessages), by reason for the log. */
export class DropCounter {
  private total = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly log?: (message: string, fields?: Record<string, unknown>) => void) {}

  get count(): number {
    return this.total;
  }

  /** Records one dropped message or connection; never logs its content. */
  drop(reason: string): void {
    this.total += 1;
    this.log?.('dropped a message', { reason });
    for (const l of this.listeners) l();
  }

  onDrop(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
