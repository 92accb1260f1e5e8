import { PAGE_PROXY_PORT, POPUP_PORT, type FromPageProxy } from '../../../shared/extension-messages.js';
import type { PortLike } from './browser-api.js';
import { checkPageProxySender, checkPopupSender, parsePageProxyMessage, type DropCounter, type TestOrigin } from './message-guard.js';
import type { PageProxyTab } from './tab-registry.js';

export interface RouterDeps {
  extensionId: string;
  /** runtime.getURL(''): the origin of this add-on's own pages. */
  extensionBaseUrl: string;
  testOrigin: TestOrigin;
  dropped: Pick<DropCounter, 'drop'>;
  tabs: { add(tab: PageProxyTab): void; removePort(tabId: number, port: PortLike): boolean };
  relay: { takeLateMessage(port: PortLike, msg: FromPageProxy): boolean; onProxyMessage(port: PortLike, msg: FromPageProxy): boolean; onPortGone(port: PortLike): void };
  status: { addPopup(port: PortLike): void };
}

/**
 * Takes every runtime.Port opened to the background: page proxies (checked sender, then each
 * message validated and matched to a request of that tab) and popups (checked sender). Anything
 * else is disconnected and counted as dropped.
 */
export function routeConnection(port: PortLike, deps: RouterDeps): void {
  if (port.name === PAGE_PROXY_PORT) {
    const checked = checkPageProxySender(port.sender, deps.extensionId, deps.testOrigin);
    if (checked === null) return refuse(port, deps, 'page proxy from a sender that is not a platform tab');
    deps.tabs.add({ tabId: checked.tabId, platform: checked.platform, cookieStoreId: checked.cookieStoreId, port, focusedAt: checked.lastAccessed });
    port.onMessage.addListener((raw) => {
      const msg = parsePageProxyMessage(raw);
      if (msg === null) deps.dropped.drop('invalid page proxy message');
      else if (!deps.relay.takeLateMessage(port, msg) && !deps.relay.onProxyMessage(port, msg)) deps.dropped.drop('page proxy message for no request of its tab');
    });
    port.onDisconnect.addListener(() => {
      deps.tabs.removePort(checked.tabId, port);
      deps.relay.onPortGone(port);
    });
  } else if (port.name === POPUP_PORT) {
    if (!checkPopupSender(port.sender, deps.extensionId, deps.extensionBaseUrl)) return refuse(port, deps, 'popup port from a sender that is not this add-on');
    deps.status.addPopup(port);
  } else {
    refuse(port, deps, 'port with an unknown name');
  }
}

function refuse(port: PortLike, deps: RouterDeps, reason: string): void {
  deps.dropped.drop(reason);
  port.disconnect();
}
