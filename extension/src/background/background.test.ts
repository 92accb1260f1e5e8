import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import type { JournalEntry } from '../../../shared/journal.js';
import type { PolicyConfigInput } from '../../../shared/policy-config.js';
import type { PersistedPlatform, PolicyChanges } from '../../../shared/policy-state.js';
import type { RelayRequestInput, RelayResponse } from '../../../shared/relay.js';
import type { BrowserStatus } from '../../../shared/status.js';
import { startBackground, type Background } from './background.js';
import { TEST_POLICY_KEY } from './policy-settings.js';
import { TEST_ORIGIN } from './test-origin.js';
import { storedTarget } from '../policy/test-persistence.js';
import { FakeBrowser, FakeClock, FakeHost, FakePort, EXTENSION_ORIGIN, tabSender, type FakeHostHandlers } from './test-fakes.js';

const MOCK_PAGE = 'http://127.0.0.1:40123/';
/** The e2e policy's shape: no jitter or spacing, a 3-failure breaker that stays open for minutes. */
const POLICY: PolicyConfigInput = {
  rateLimit: { requestsPerMinutePerPlatform: 4, windowMs: 10 * 60_000, minSpacingMs: 0 },
  jitter: { muMs: 0, sigmaMs: 0, minMs: 0, maxMs: 0 },
  backoff: { strategy: 'full', baseMs: 100, maxMs: 1_000, maxRetryAfterMs: 1_000 },
  circuitBreaker: { failureThreshold: 3, openMs: 5 * 60_000, maxOpenMs: 10 * 60_000 },
};

interface Session {
  browser: FakeBrowser;
  clock: FakeClock;
  bg: Background;
  hosts: FakeHost[];
  page: FakePort;
  logs: string[];
}

/** Starts a background (test flavour) over `browser`; `host` decides whether a host answers, and how. */
async function start(browser: FakeBrowser, clock: FakeClock, host: Partial<FakeHostHandlers> | 'missing' = {}): Promise<Session> {
  const hosts: FakeHost[] = [];
  browser.onConnectNative = (port) => {
    if (host === 'missing') queueMicrotask(() => port.remoteDisconnect('No such native application conductor_fx'));
    else hosts.push(new FakeHost(port, host));
  };
  const logs: string[] = [];
  const bg = startBackground({ api: browser, clock, extensionVersion: '0.1.0', testBuild: true, testOrigin: TEST_ORIGIN, log: (m) => logs.push(m) });
  const page = new FakePort('conductor-fx/page-proxy', tabSender(5, MOCK_PAGE));
  browser.connect(page);
  await bg.engine;
  await clock.advance(100);
  return { browser, clock, bg, hosts, page, logs };
}

function freshBrowser(): FakeBrowser {
  const browser = new FakeBrowser();
  browser.storage.set(TEST_POLICY_KEY, POLICY);
  return browser;
}

/** The same profile after a restart: storage.local survives, nothing else. */
function restarted(browser: FakeBrowser): FakeBrowser {
  const next = new FakeBrowser();
  for (const [k, v] of browser.storage) next.storage.set(k, v);
  return next;
}

const chat = (requestId: string, extra: Partial<RelayRequestInput> = {}): RelayRequestInput => ({
  requestId, platform: 'mock', clientId: 'agent', method: 'POST', path: '/api/chat', body: '{}', maxWaitMs: 5_000, ...extra,
});

/** Sends a relay.request as the host and lets the page answer each proxy.fetch with `status`. */
async function relay(s: Session, requestId: string, status: number | null, extra: Partial<RelayRequestInput> = {}): Promise<RelayResponse | ConductorError> {
  const host = s.hosts.at(-1) as FakeHost;
  const answer = host.request('relay.request', chat(requestId, extra)).catch((e: unknown) => e as ConductorError);
  await s.clock.advance(2_000);
  const fetched = s.page.postedOfType('proxy.fetch').some((m) => m['requestId'] === requestId);
  if (fetched && status !== null) {
    s.page.deliver({ type: 'proxy.end', requestId, status, headers: {}, body: 'x', bodyLength: 1 });
    await s.clock.advance(100);
  }
  return answer;
}

function journalRows(host: FakeHost): JournalEntry[] {
  return host.callsOf('journal.record').flatMap((p) => (p as { entries: JournalEntry[] }).entries);
}

function target(status: BrowserStatus, clientId: string) {
  return status.targets.find((t) => t.clientId === clientId);
}

describe('the background with the real policy engine', () => {
  it('loads the policy state again when storage.local fails to read, instead of starting empty', async () => {
    const browser = freshBrowser();
    const clock = new FakeClock();
    let failures = 1;
    const read = browser.storageGet.bind(browser);
    browser.storageGet = async (keys) => {
      if (keys === null && failures-- > 0) throw new Error('storage.local is not available yet');
      return read(keys);
    };
    const logs: string[] = [];
    const bg = startBackground({ api: browser, clock, extensionVersion: '0.1.0', testBuild: true, testOrigin: TEST_ORIGIN, log: (m) => logs.push(m) });
    let ready = false;
    void bg.engine.then(() => (ready = true));
    await clock.advance(999);
    expect(ready).toBe(false);
    expect(logs).toContain('the policy engine could not load its state; trying again');
    await clock.advance(1);
    await bg.engine;
    expect(ready).toBe(true);
  });

  it('relays through the page: write-ahead row first, then proxy.fetch, then the answer and its row', async () => {
    const s = await start(freshBrowser(), new FakeClock());
    const host = s.hosts[0] as FakeHost;
    expect(s.browser.createdTabs).toEqual([`${EXTENSION_ORIGIN}/popup/popup.html`]);

    // What the host had committed at the moment the page was asked to fetch.
    let committedAtFetch: string[] | null = null;
    s.page.onPost = (m) => {
      if ((m as { type: string }).type === 'proxy.fetch') committedAtFetch = journalRows(host).map((r) => `${r.requestId}:${r.outcome}`);
    };
    const res = await relay(s, 'r1', 200);
    expect(res).toMatchObject({ requestId: 'r1', status: 200, body: 'x', chunked: false });
    expect(committedAtFetch).toEqual(['r1:admitted']);
    expect(journalRows(host).map((r) => r.outcome)).toEqual(['admitted', 'success']);
    expect(s.page.postedOfType('proxy.fetch')).toHaveLength(1);
    const status = await host.request('browser.status', {});
    expect(status.tabs).toEqual([{ platform: 'mock', tabs: 1, clients: [] }]);
    expect(status.host).toMatchObject({ connected: true, hostVersion: '9.9.9', lastSavedAt: 1_700_000_000_500 });
    expect(status.platforms.find((p) => p.platform === 'mock')?.recentDispatchCount).toBe(1);
  });

  it('opens the circuit after three failures; the refusal is journalled and never dispatched', async () => {
    const s = await start(freshBrowser(), new FakeClock());
    const host = s.hosts[0] as FakeHost;
    expect(await relay(s, 'f1', 500)).toMatchObject({ code: 'upstream_5xx' });
    expect(await relay(s, 'f2', 500)).toMatchObject({ code: 'upstream_5xx' });
    expect(await relay(s, 'f3', 503)).toMatchObject({ code: 'upstream_5xx' });
    const open = await relay(s, 'f4', null);
    expect(open).toMatchObject({ code: 'circuit_open' });
    expect((open as ConductorError).details?.['retry_after_ms']).toBeGreaterThan(0);
    expect(s.page.postedOfType('proxy.fetch')).toHaveLength(3);
    expect(journalRows(host).filter((r) => r.requestId === 'f4')).toMatchObject([{ outcome: 'rejected', errorCode: 'circuit_open' }]);
    expect(target(await s.bg.status.current(), 'agent')?.circuitState).toBe('open');
  });

  it('refuses a relay.request with a bad header as bad_payload naming it: nothing admitted, journalled or fetched', async () => {
    const s = await start(freshBrowser(), new FakeClock());
    const host = s.hosts[0] as FakeHost;
    for (const headers of [{ 'x-app': 'a\nb' }, { Cookie: 'session=x' }, { 'no spaces': '1' }] as Record<string, string>[]) {
      const refused = await relay(s, 'h1', null, { headers });
      expect(refused).toMatchObject({ code: 'bad_payload', details: { issues: [{ path: `headers.${Object.keys(headers)[0]}` }] } });
    }
    expect(s.page.postedOfType('proxy.fetch')).toEqual([]);
    expect(journalRows(host)).toEqual([]);
    const status = await s.bg.status.current();
    expect(status.platforms.find((p) => p.platform === 'mock')?.recentDispatchCount ?? 0).toBe(0);
    expect(target(status, 'agent')).toBeUndefined();
  });

  it('counts a redirect the page refused neither as a success nor as a failure', async () => {
    const s = await start(freshBrowser(), new FakeClock());
    const answer = (s.hosts[0] as FakeHost).request('relay.request', chat('x1')).catch((e: unknown) => e as ConductorError);
    await s.clock.advance(2_000);
    s.page.deliver({ type: 'proxy.error', requestId: 'x1', code: 'cross_origin_redirect', message: 'not followed', partial: { receivedChunks: 0, receivedBytes: 0, lastSeq: -1, status: null } });
    await s.clock.advance(100);
    expect(await answer).toMatchObject({ code: 'cross_origin_redirect' });
    expect(target(await s.bg.status.current(), 'agent')).toMatchObject({ circuitState: 'closed', consecutiveFailures: 0, lastFailureAt: null, lastSuccessAt: null });
  });

  it('answers no_tab when no page proxy is connected, without counting a dispatch', async () => {
    const s = await start(freshBrowser(), new FakeClock());
    s.page.remoteDisconnect();
    expect(await relay(s, 'n1', null)).toMatchObject({ code: 'no_tab' });
    const status = await s.bg.status.current();
    expect(status.platforms.find((p) => p.platform === 'mock')?.recentDispatchCount ?? 0).toBe(0);
    expect(status.tabs).toEqual([]);
  });

  it('restores the open circuit from storage.local after a browser restart without the host, and says why', async () => {
    const clock = new FakeClock();
    const first = await start(freshBrowser(), clock);
    for (const id of ['a', 'b', 'c']) await relay(first, id, 500);
    await clock.advance(1_000);
    first.bg.link.stop();

    const second = await start(restarted(first.browser), clock, 'missing');
    const status = await second.bg.status.current();
    expect(target(status, 'agent')).toMatchObject({ circuitState: 'open' });
    expect(status.host).toMatchObject({ connected: false, reason: 'No such native application conductor_fx' });
    expect(status.platforms.find((p) => p.platform === 'mock')?.recentDispatchCount).toBe(3);
    second.bg.link.stop();
  });

  it('reconciles with a returning host, the stricter state winning, and pushes the merged state back', async () => {
    const clock = new FakeClock();
    const browser = freshBrowser();
    const openUntil = clock.now() + 4 * 60_000;
    const hostWindow: PersistedPlatform = { version: 1, platform: 'mock', dispatches: [clock.now() - 1_000, clock.now() - 500], lastDispatchAt: clock.now() - 500, updatedAt: clock.now() - 500 };
    const hostTarget = storedTarget({ clientId: 'agent', platform: 'mock', circuitState: 'open', consecutiveFailures: 3, trips: 1, circuitRetryAt: openUntil, lastFailureAt: clock.now() - 500, updatedAt: clock.now() - 500 });
    let hostReachable = false;
    const hosts: FakeHost[] = [];
    browser.onConnectNative = (port) => {
      if (!hostReachable) queueMicrotask(() => port.remoteDisconnect('No such native application conductor_fx'));
      else hosts.push(new FakeHost(port, { 'policy.load': () => ({ targets: [hostTarget], platforms: [hostWindow], system: null, nextCursor: null }) }));
    };
    const bg = startBackground({ api: browser, clock, extensionVersion: '0.1.0', testBuild: true, testOrigin: TEST_ORIGIN, log: () => undefined });
    await bg.engine;
    await clock.advance(100);
    expect(target(await bg.status.current(), 'agent')).toBeUndefined();

    hostReachable = true;
    await clock.advance(11_000);
    const status = await bg.status.current();
    expect(status.host.connected).toBe(true);
    expect(target(status, 'agent')).toMatchObject({ circuitState: 'open', circuitRetryAt: openUntil, consecutiveFailures: 3 });
    expect(status.platforms.find((p) => p.platform === 'mock')?.recentDispatchCount).toBe(2);
    // The sync's full push: the first save after the host's state was loaded.
    const pushed = hosts[0]?.callsOf('policy.save')[0] as PolicyChanges;
    expect(pushed.targets.find((t) => t.clientId === 'agent')).toMatchObject({ circuitState: 'open', circuitRetryAt: openUntil });
    expect(pushed.platforms.find((p) => p.platform === 'mock')?.dispatches).toHaveLength(2);
    // The reconciled state is mirrored locally too.
    expect(browser.storage.get('conductorFx.policy.target.mock/agent')).toMatchObject({ circuitState: 'open' });
    bg.link.stop();
  });

  it('aborts an in-flight relay when the host dies, says hello to the next one, and keeps serving', async () => {
    const s = await start(freshBrowser(), new FakeClock());
    const first = s.hosts[0] as FakeHost;
    const answer = first.request('relay.request', chat('slow', { stream: true })).catch((e: unknown) => e);
    await s.clock.advance(100);
    s.page.deliver({ type: 'proxy.chunk', requestId: 'slow', seq: 0, data: 'partial' });
    await s.clock.advance(10);
    expect(first.chunks).toEqual([{ requestId: 'slow', seq: 0, data: 'partial' }]);

    first.port.remoteDisconnect();
    expect(s.page.postedOfType('proxy.abort')).toEqual([{ type: 'proxy.abort', requestId: 'slow' }]);
    await s.clock.advance(1_000);
    expect(s.hosts).toHaveLength(2);
    expect(s.hosts[1]?.callsOf('hello')).toHaveLength(1);
    // No final row: the host's restart recovery reports the write-ahead row as interrupted.
    expect(journalRows(first).filter((r) => r.requestId === 'slow').map((r) => r.outcome)).toEqual(['admitted']);
    expect(journalRows(s.hosts[1] as FakeHost).filter((r) => r.requestId === 'slow')).toEqual([]);
    expect(await relay(s, 'after', 200)).toMatchObject({ status: 200 });
    void answer;
  });

  it("takes the page's late answers to a cancelled request: not counted as dropped, never given to a retry under the same id", async () => {
    const s = await start(freshBrowser(), new FakeClock());
    const host = s.hosts[0] as FakeHost;
    const first = host.request('relay.request', chat('again', { stream: true })).catch((e: unknown) => e);
    await s.clock.advance(2_000);
    await expect(host.request('relay.cancel', { requestId: 'again' })).resolves.toEqual({ cancelled: true });
    expect(await first).toMatchObject({ code: 'cancelled' });
    // The retry is dispatched before the page's answer to the abort comes back.
    const retry = host.request('relay.request', chat('again')).catch((e: unknown) => e);
    await s.clock.advance(2_000);
    expect(s.page.postedOfType('proxy.fetch').filter((m) => m['requestId'] === 'again')).toHaveLength(2);
    // What the page sends after the abort: a chunk that crossed it, then its final proxy.error.
    s.page.deliver({ type: 'proxy.chunk', requestId: 'again', seq: 0, data: 'old' });
    s.page.deliver({ type: 'proxy.error', requestId: 'again', code: 'cancelled', message: 'aborted by the caller', partial: { receivedChunks: 1, receivedBytes: 3, lastSeq: 0, status: 200 } });
    s.page.deliver({ type: 'proxy.end', requestId: 'again', status: 200, headers: {}, body: 'fresh', bodyLength: 5 });
    await s.clock.advance(100);
    expect(await retry).toMatchObject({ requestId: 'again', status: 200, body: 'fresh' });
    expect(host.chunks).toEqual([]);
    expect((await s.bg.status.current()).droppedMessages).toBe(0);
  });

  it('drops and counts foreign ports and invalid messages, and pushes live status to the popup', async () => {
    const s = await start(freshBrowser(), new FakeClock());
    const foreign = new FakePort('conductor-fx/page-proxy', tabSender(9, 'https://example.com/'));
    s.browser.connect(foreign);
    expect(foreign.closed).toBe(true);
    s.page.deliver({ type: 'proxy.end', requestId: 'nobody', status: 200, headers: {}, body: '', bodyLength: 0 });
    s.page.deliver({ type: 'bogus' });

    const popup = new FakePort('conductor-fx/popup', { id: 'conductor-fx@conductor.local', url: `${EXTENSION_ORIGIN}/popup/popup.html` });
    s.browser.connect(popup);
    const first = popup.postedOfType('status')[0]?.['status'] as BrowserStatus;
    expect(first.droppedMessages).toBe(3);
    expect(first.extensionVersion).toBe('0.1.0');

    popup.deliver({ type: 'pause', reason: 'lunch' });
    await s.clock.advance(300);
    const latest = popup.postedOfType('status').at(-1)?.['status'] as BrowserStatus;
    expect(latest.paused).toMatchObject({ paused: true, reason: 'lunch' });
    popup.deliver({ type: 'pause' });
    await s.clock.advance(300);
    expect((popup.postedOfType('status').at(-1)?.['status'] as BrowserStatus).droppedMessages).toBe(4);

    await expect(s.hosts[0]?.request('control.resume', {})).resolves.toEqual({ paused: false });
    expect((await s.bg.status.current()).paused.paused).toBe(false);
  });
});
