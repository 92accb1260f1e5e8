import { describe, expect, it } from 'vitest';
import type { FromPageProxy } from '../../../shared/extension-messages.js';
import type { PortLike } from './browser-api.js';
import { DropCounter } from './message-guard.js';
import { routeConnection, type RouterDeps } from './port-router.js';
import { TabRegistry } from './tab-registry.js';
import { EXTENSION_ID, EXTENSION_ORIGIN, FakePort, tabSender } from './test-fakes.js';

function setup() {
  const dropped = new DropCounter();
  const tabs = new TabRegistry(() => 0);
  const messages: FromPageProxy[] = [];
  const gone: PortLike[] = [];
  const popups: PortLike[] = [];
  const deps: RouterDeps = {
    extensionId: EXTENSION_ID,
    extensionBaseUrl: `${EXTENSION_ORIGIN}/`,
    testOrigin: null,
    dropped,
    tabs,
    relay: {
      takeLateMessage: () => false,
      onProxyMessage: (_port, msg) => {
        messages.push(msg);
        return msg.requestId === 'known';
      },
      onPortGone: (port) => void gone.push(port),
    },
    status: { addPopup: (port) => void popups.push(port) },
  };
  return { deps, dropped, tabs, messages, gone, popups };
}

describe('routeConnection', () => {
  it('registers a page proxy, validates its messages and counts the ones that fit no request', () => {
    const s = setup();
    const port = new FakePort('conductor-fx/page-proxy', tabSender(4, 'https://chatgpt.com/c/1', { lastAccessed: 77 }));
    routeConnection(port, s.deps);
    expect(s.tabs.choose('chatgpt', 'default')).toMatchObject({ tabId: 4, focusedAt: 77 });

    port.deliver({ type: 'proxy.chunk', requestId: 'known', seq: 0, data: 'a' });
    port.deliver({ type: 'proxy.chunk', requestId: 'stranger', seq: 0, data: 'a' });
    port.deliver({ type: 'proxy.chunk', requestId: 'known', seq: 'zero', data: 'a' });
    expect(s.messages.map((m) => m.requestId)).toEqual(['known', 'stranger']);
    expect(s.dropped.count).toBe(2);

    port.remoteDisconnect();
    expect(s.tabs.choose('chatgpt', 'default')).toBeUndefined();
    expect(s.gone).toEqual([port]);
  });

  it('refuses page proxies from foreign senders and ports with unknown names', () => {
    const s = setup();
    const foreign = new FakePort('conductor-fx/page-proxy', tabSender(4, 'https://evil.example/'));
    const otherAddon = new FakePort('conductor-fx/page-proxy', tabSender(5, 'https://claude.ai/', { id: 'spy@addon' }));
    const loopback = new FakePort('conductor-fx/page-proxy', tabSender(6, 'http://127.0.0.1:8080/'));
    const unknown = new FakePort('something-else', tabSender(7, 'https://claude.ai/'));
    for (const p of [foreign, otherAddon, loopback, unknown]) routeConnection(p, s.deps);
    expect([foreign, otherAddon, loopback, unknown].every((p) => p.closed)).toBe(true);
    expect(s.dropped.count).toBe(4);
    expect(s.tabs.summary()).toEqual([]);
  });

  it('hands popup ports of this add-on to the status service and refuses others', () => {
    const s = setup();
    const popup = new FakePort('conductor-fx/popup', { id: EXTENSION_ID, url: `${EXTENSION_ORIGIN}/popup/popup.html` });
    const fake = new FakePort('conductor-fx/popup', tabSender(3, 'https://claude.ai/'));
    routeConnection(popup, s.deps);
    routeConnection(fake, s.deps);
    expect(s.popups).toEqual([popup]);
    expect(fake.closed).toBe(true);
    expect(s.dropped.count).toBe(1);
  });
});
