import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import type { MethodHandlers } from '../../../shared/rpc.js';
import type { EXTENSION_METHODS } from '../../../shared/messages.js';
import { DEFAULT_HOST_TIMEOUT_MS, DEFAULT_RECONNECT_BACKOFF, NativeLink, reconnectDelay } from './native-port.js';
import { FakeBrowser, FakeClock, FakeHost, settle, type FakePort } from './test-fakes.js';

const unusedHandlers = new Proxy({}, { get: () => () => Promise.reject(new ConductorError('internal_error', 'not under test')) }) as MethodHandlers<typeof EXTENSION_METHODS>;

function rig(handlers: MethodHandlers<typeof EXTENSION_METHODS> = unusedHandlers) {
  const browser = new FakeBrowser();
  const clock = new FakeClock();
  /** Every delay the link asked a timer for, in order (reconnects and request timeouts). */
  const delays: number[] = [];
  const recording = {
    now: () => clock.now(),
    random: () => clock.random(),
    setTimeout: (fn: () => void, ms: number) => {
      delays.push(ms);
      return clock.setTimeout(fn, ms);
    },
    clearTimeout: (h: unknown) => clock.clearTimeout(h),
  };
  const link = new NativeLink({ browser, clock: recording, extensionVersion: '1.2.3', handlers });
  return { browser, clock, link, delays };
}

/** The reconnect delays among the timers the link set (request timeouts are DEFAULT_HOST_TIMEOUT_MS). */
const reconnects = (delays: number[]) => delays.filter((d) => d !== DEFAULT_HOST_TIMEOUT_MS);

async function caught(p: Promise<unknown>): Promise<ConductorError> {
  const err = await p.then(() => null, (e: unknown) => e);
  if (!(err instanceof ConductorError)) throw new Error(`expected a ConductorError, got ${String(err)}`);
  return err;
}

describe('NativeLink', () => {
  it('says hello with the extension version on every connect and reports the host it found', async () => {
    const { browser, clock, link } = rig();
    const hosts: FakeHost[] = [];
    browser.onConnectNative = (port) => void hosts.push(new FakeHost(port));
    link.start();
    await settle();

    expect(browser.nativePorts.map((p) => p.name)).toEqual(['conductor_fx']);
    expect(hosts[0]?.callsOf('hello')).toEqual([{ extensionVersion: '1.2.3', clientId: 'default' }]);
    expect(link.state).toMatchObject({ connected: true, reason: null, hostVersion: '9.9.9', dbPath: '/data/conductor.sqlite', lastConnectedAt: clock.now() });

    hosts[0]?.port.remoteDisconnect();
    expect(link.state).toMatchObject({ connected: false, reason: 'the native host exited' });
    await clock.advance(DEFAULT_RECONNECT_BACKOFF.baseMs);

    expect(hosts).toHaveLength(2);
    expect(hosts[1]?.callsOf('hello')).toHaveLength(1);
    expect(link.connected).toBe(true);
  });

  it('rejects every pending request with the reason Firefox put on port.error', async () => {
    const { browser, link } = rig();
    let host: FakeHost | undefined;
    browser.onConnectNative = (port) => {
      host = new FakeHost(port, { 'journal.list': () => new Promise(() => undefined) });
    };
    link.start();
    await settle();
    const pending = [caught(link.request('journal.list', {})), caught(link.request('journal.list', {}))];
    await settle();
    expect(host?.callsOf('journal.list')).toHaveLength(2);

    host?.port.remoteDisconnect('Native application tried to send a message of 2000000 bytes');

    for (const err of await Promise.all(pending)) {
      expect(err.code).toBe('host_unavailable');
      expect(err.details?.['reason']).toBe('Native application tried to send a message of 2000000 bytes');
    }
    expect(link.state.reason).toBe('Native application tried to send a message of 2000000 bytes');
  });

  it('fails fast with host_unavailable when no host has answered hello', async () => {
    const { browser, link } = rig();
    browser.onConnectNative = (port) => queueMicrotask(() => port.remoteDisconnect('No such native application conductor_fx'));
    link.start();
    await settle();
    const err = await caught(link.request('ping', {}));
    expect(err.code).toBe('host_unavailable');
    expect(err.message).toContain('No such native application conductor_fx');
    expect(() => link.emitChunk({ requestId: 'r1', seq: 0, data: 'x' })).toThrow(ConductorError);
  });

  it('retries a missing host on an exponential backoff capped at 10 s', async () => {
    const { browser, clock, link, delays } = rig();
    browser.onConnectNative = (port) => queueMicrotask(() => port.remoteDisconnect('No such native application conductor_fx'));
    link.start();
    await clock.advance(60_000);
    // random() = 0.5 → three quarters of each ceiling: 0.5 s, 1 s, 2 s, … capped at 10 s.
    expect(reconnects(delays).slice(0, 9)).toEqual([375, 750, 1500, 3000, 6000, 7500, 7500, 7500, 7500]);
    expect(Math.max(...reconnects(delays))).toBe(7500);
    expect(browser.nativePorts.length).toBe(reconnects(delays).length);
    expect(link.state).toMatchObject({ connected: false, reason: 'No such native application conductor_fx' });
  });

  it('keeps every jittered delay between half the ceiling and the ceiling', () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      const ceiling = Math.min(10_000, 500 * 2 ** (attempt - 1));
      expect(reconnectDelay(attempt, DEFAULT_RECONNECT_BACKOFF, () => 0)).toBe(ceiling / 2);
      expect(reconnectDelay(attempt, DEFAULT_RECONNECT_BACKOFF, () => 0.999_999)).toBeLessThanOrEqual(ceiling);
    }
  });

  it('drops a host that never answers hello and tries again', async () => {
    const { browser, clock, link } = rig();
    browser.onConnectNative = () => undefined; // a port that stays silent
    link.start();
    await clock.advance(15_000);
    const first = browser.nativePorts[0] as FakePort;
    expect(first.closed).toBe(true);
    expect(link.state.reason).toMatch(/^hello failed: no answer to hello/);
    await clock.advance(1_000);
    expect(browser.nativePorts).toHaveLength(2);
  });

  it('resets the backoff after a successful hello', async () => {
    const { browser, clock, link, delays } = rig();
    let fail = 3;
    browser.onConnectNative = (port) => {
      if (fail-- > 0) queueMicrotask(() => port.remoteDisconnect('No such native application conductor_fx'));
      else new FakeHost(port);
    };
    link.start();
    await clock.advance(375 + 750 + 1500);
    expect(link.connected).toBe(true);
    (browser.nativePorts.at(-1) as FakePort).remoteDisconnect();
    expect(reconnects(delays)).toEqual([375, 750, 1500, 375]);
  });

  it('serves the host with the handlers it was given', async () => {
    const handlers = { ...unusedHandlers, 'control.resume': () => ({ paused: false as const }) };
    const { browser, link } = rig(handlers);
    let host: FakeHost | undefined;
    browser.onConnectNative = (port) => void (host = new FakeHost(port));
    link.start();
    await settle();
    await expect(host?.request('control.resume', {})).resolves.toEqual({ paused: false });
  });

  it('stops reconnecting after stop()', async () => {
    const { browser, clock, link } = rig();
    browser.onConnectNative = (port) => void new FakeHost(port);
    link.start();
    await settle();
    link.stop();
    await clock.advance(60_000);
    expect(browser.nativePorts).toHaveLength(1);
    expect(link.state.connected).toBe(false);
  });

  it('keeps a store error (with the time of its first failure) until a save is confirmed', async () => {
    const { clock, link } = rig();
    expect(link.state.storeError).toBeNull();
    const first = clock.now();
    link.noteStoreError('disk_full', 'could not save the policy state: the disk (or the DB size limit) is full');
    await clock.advance(5_000);
    link.noteStoreError('disk_full', 'could not save the policy state: the disk (or the DB size limit) is full');
    expect(link.state.storeError).toEqual({ code: 'disk_full', message: 'could not save the policy state: the disk (or the DB size limit) is full', since: first });
    link.noteSaved(clock.now());
    expect(link.state).toMatchObject({ storeError: null, lastSavedAt: clock.now() });
  });
});
