/**
 * The background's composition: builds every piece over a BrowserApi and a clock and wires them
 * together. Listeners are registered synchronously so Firefox can wake the event page with them;
 * only the policy engine comes up asynchronously (it loads storage.local first).
 */
import { DEFAULT_POLICY_CONFIG, type PolicyConfig } from '../../../shared/policy-config.js';
import { PolicyEngine } from '../policy/engine.js';
import type { PolicyClock } from '../policy/types.js';
import type { BrowserApi } from './browser-api.js';
import { JournalWriter } from './journal-writer.js';
import { DropCounter, knownPlatforms, type TestOrigin } from './message-guard.js';
import { backoffCeiling, NativeLink, type ReconnectBackoff } from './native-port.js';
import { PolicyMirror } from './policy-persistence.js';
import { PolicySettings } from './policy-settings.js';
import { routeConnection } from './port-router.js';
import { Relay } from './relay.js';
import { StatusService } from './status.js';
import { TabRegistry } from './tab-registry.js';

/** Where the popup page lives in the built add-on. */
export const POPUP_PAGE = 'popup/popup.html';

/** How long the background waits before loading the policy state again after a failed load (doubling, capped). */
const BOOT_RETRY: ReconnectBackoff = { baseMs: 1_000, maxMs: 30_000 };

export interface BackgroundOptions {
  api: BrowserApi;
  clock: PolicyClock;
  extensionVersion: string;
  /** The test flavour: the policy from storage.local, the popup opened as a tab. */
  testBuild: boolean;
  /** The test flavour's loopback mock platform origins; null in the release build. */
  testOrigin: TestOrigin;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

/** The running background's parts (tests drive them; main.ts only starts them). */
export interface Background {
  link: NativeLink;
  relay: Relay;
  status: StatusService;
  tabs: TabRegistry;
  dropped: DropCounter;
  mirror: PolicyMirror;
  settings: PolicySettings;
  /** Resolves with the engine once it has loaded its state. */
  engine: Promise<PolicyEngine>;
}

/** Starts the background: connects the host, serves the page proxies and popups, loads the engine. */
export function startBackground(options: BackgroundOptions): Background {
  const { api, clock, log, testBuild, testOrigin, extensionVersion } = options;
  let resolveEngine: (engine: PolicyEngine) => void = () => undefined;
  const engineReady = new Promise<PolicyEngine>((resolve) => {
    resolveEngine = resolve;
  });
  let engine: PolicyEngine | null = null;

  const dropped = new DropCounter(log);
  const tabs = new TabRegistry(() => clock.now());
  const link: NativeLink = new NativeLink({
    browser: api,
    clock,
    extensionVersion,
    log,
    handlers: {
      'relay.request': (req) => relay.request(req),
      'relay.cancel': ({ requestId }) => ({ cancelled: relay.cancel(requestId) }),
      'browser.status': () => status.current(),
      'control.reset': async ({ platform, clientId }) => ({ reset: await status.run({ type: 'reset', platform, clientId }) }),
      'control.pause': async ({ reason }) => {
        await status.run({ type: 'pause', reason });
        return { paused: true as const };
      },
      'control.resume': async () => {
        await status.run({ type: 'resume' });
        return { paused: false as const };
      },
      'policy.configure': (policy) => settings.offer(policy),
    },
  });
  const settings = new PolicySettings({ api, engine: engineReady, now: () => clock.now(), log });
  const journal = new JournalWriter(link);
  const mirror = new PolicyMirror(api, link, log);
  const relay = new Relay({
    engine: () => engineReady,
    ready: async () => {
      await engineReady;
      await mirror.whenSynced();
    },
    tabs,
    journal,
    emitChunk: (chunk) => link.emitChunk(chunk),
    now: () => clock.now(),
    platforms: knownPlatforms(testOrigin),
    proxyIdleTimeoutMs: () => proxyIdleFor(engine?.config ?? DEFAULT_POLICY_CONFIG),
  });
  const status = new StatusService({ engine: engineReady, link, tabs, dropped, policyConfig: settings, extensionVersion, timers: clock });

  api.onConnect((port) =>
    routeConnection(port, { extensionId: api.extensionId, extensionBaseUrl: api.getURL(''), testOrigin, dropped, tabs, relay, status }),
  );
  api.onTabActivated((tabId) => tabs.focus(tabId));
  api.onTabRemoved((tabId) => tabs.removeTab(tabId));
  link.onConnected((hello) => {
    void journal.flush();
    void mirror.syncWithHost();
    void settings.offer(hello.policy);
  });
  link.onDisconnected((reason) => relay.abortAll(reason));
  link.start();
  void boot().catch((err: unknown) => log('the background did not finish starting', { error: err instanceof Error ? err.message : String(err) }));

  return { link, relay, status, tabs, dropped, mirror, settings, engine: engineReady };

  /**
   * Loads the engine's state, trying again on failure (a storage.local read error is transient):
   * starting with empty state instead would forget open circuits, so requests wait meanwhile.
   */
  async function initializeWithRetry(started: PolicyEngine): ReturnType<PolicyEngine['initialize']> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await started.initialize();
      } catch (err) {
        const delayMs = backoffCeiling(attempt, BOOT_RETRY);
        log('the policy engine could not load its state; trying again', { error: err instanceof Error ? err.message : String(err), attempt, delayMs });
        await new Promise<void>((resolve) => clock.setTimeout(resolve, delayMs));
      }
    }
  }

  /** Loads the policy engine (its config and state) from storage.local, then lets requests through. */
  async function boot(): Promise<void> {
    const config = await settings.initialConfig(testBuild);
    const started = new PolicyEngine({ config, persistence: mirror, clock, log: { warn: log } });
    engine = started;
    const { interrupted } = await initializeWithRetry(started);
    // Their journal rows are marked interrupted by the host's restart recovery; here they are only counted.
    if (interrupted.length > 0) log('requests were in flight when the browser stopped', { count: interrupted.length });
    mirror.attach(started);
    if (link.connected) void mirror.syncWithHost();
    resolveEngine(started);
    // The e2e driver cannot open moz-extension:// pages itself, so the test build opens its popup as a tab.
    if (testBuild) await api.createTab(api.getURL(POPUP_PAGE));
  }
}

/** The page gives up on a silent upstream well before the stale sweep would reclaim the lease. */
function proxyIdleFor(config: PolicyConfig): number {
  return Math.max(1_000, Math.min(120_000, Math.floor(config.staleLease.idleTimeoutMs / 2)));
}
