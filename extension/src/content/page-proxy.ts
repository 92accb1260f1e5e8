// The page proxy's entry: runs in each platform tab (content script), connects to the background
// over a runtime.Port, validates every message and lets PageProxy execute it as the page.
//
// Which fetch: the content script's own `fetch`. In a Manifest V3 add-on Firefox sends a content
// script's request with the page's principal: the page's cookies, its Origin and its Referer,
// not moz-extension:// (proven in real Firefox by test/e2e/harness.test.ts and relay.test.ts).
// `content.fetch` (the page window's fetch through an Xray) would do the same but hands back
// page-compartment objects whose body stream must be read through Xray wrappers, and a page
// script could have replaced window.fetch to watch the relayed traffic; the content script's
// own fetch has neither problem.
import { PAGE_PROXY_PORT } from '../../../shared/extension-messages.js';
import { PageProxy } from './proxy-fetch.js';

/** Reconnect delays after the background went away (it restarts, or the add-on updates). */
const RECONNECT_FIRST_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

let port: browser.runtime.Port | null = null;
let reconnectMs = RECONNECT_FIRST_MS;

const proxy = new PageProxy({
  fetch: (url, init) => fetch(url, init),
  origin: location.origin,
  timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as number) },
  post: (message) => port?.postMessage(message),
});

function connect(): void {
  try {
    port = browser.runtime.connect({ name: PAGE_PROXY_PORT });
  } catch {
    // The add-on was removed or updated: this copy of the script is orphaned for good.
    port = null;
    return;
  }
  port.onMessage.addListener((raw: unknown) => {
    reconnectMs = RECONNECT_FIRST_MS;
    proxy.receive(raw);
  });
  port.onDisconnect.addListener(() => {
    port = null;
    proxy.abortAll();
    setTimeout(connect, reconnectMs);
    reconnectMs = Math.min(reconnectMs * 2, RECONNECT_MAX_MS);
  });
}

connect();
