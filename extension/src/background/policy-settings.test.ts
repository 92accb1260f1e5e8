import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../../shared/policy-config.js';
import { PolicyEngine } from '../policy/engine.js';
import { MemoryPersistence } from '../policy/test-persistence.js';
import { PolicySettings, POLICY_CONFIG_KEY, TEST_POLICY_KEY } from './policy-settings.js';
import { startBackground } from './background.js';
import { FakeBrowser, FakeClock, FakeHost, helloResult } from './test-fakes.js';

const SOURCE = '/home/u/.local/share/conductor-fx/policy.json';

/** Settings over a fake storage.local, and a real engine created with the config they choose. */
async function setup(browser = new FakeBrowser(), testBuild = false) {
  const clock = new FakeClock();
  const logs: string[] = [];
  let resolve: (e: PolicyEngine) => void = () => undefined;
  const settings = new PolicySettings({ api: browser, engine: new Promise((r) => (resolve = r)), now: () => clock.now(), log: (m) => logs.push(m) });
  const engine = new PolicyEngine({ config: await settings.initialConfig(testBuild), persistence: new MemoryPersistence(), clock });
  await engine.initialize();
  resolve(engine);
  return { browser, clock, settings, engine, logs };
}

describe('PolicySettings', () => {
  it('applies a valid policy.json live, stores it, and a restart starts the engine with it', async () => {
    const { browser, settings, engine, clock } = await setup();
    expect(engine.config).toEqual(DEFAULT_POLICY_CONFIG);
    const offered = await settings.offer({ config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source: SOURCE, error: null });
    expect(offered).toEqual({ applied: true });
    expect(engine.config.rateLimit.requestsPerMinutePerPlatform).toBe(4);
    expect(settings.state).toEqual({ source: SOURCE, error: null, appliedAt: clock.now() });
    expect(browser.storage.get(POLICY_CONFIG_KEY)).toMatchObject({ config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source: SOURCE });

    const after = await setup(browser);
    expect(after.engine.config.rateLimit.requestsPerMinutePerPlatform).toBe(4);
    expect(after.settings.state.source).toBe(SOURCE);
  });

  it('refuses an invalid policy.json: the previous policy stays, the error names the field, nothing is stored', async () => {
    const { browser, settings, engine } = await setup();
    await settings.offer({ config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source: SOURCE, error: null });
    const stored = browser.storage.get(POLICY_CONFIG_KEY);
    const changes: number[] = [];
    settings.onChange(() => changes.push(1));
    expect(await settings.offer({ config: { rateLimit: { requestsPerMinutePerPlatform: 0 } }, source: SOURCE, error: null })).toEqual({ applied: false });
    expect(settings.state.error).toMatch(/^rateLimit\.requestsPerMinutePerPlatform: /);
    expect(engine.config.rateLimit.requestsPerMinutePerPlatform).toBe(4);
    expect(browser.storage.get(POLICY_CONFIG_KEY)).toBe(stored);
    expect(changes).toHaveLength(1);
    // The host's own refusal (a file that is not JSON) is shown as it is.
    expect(await settings.offer({ config: null, source: SOURCE, error: 'not JSON: Unexpected token' })).toEqual({ applied: false });
    expect(settings.state.error).toBe('not JSON: Unexpected token');
    // A valid file clears the error.
    expect(await settings.offer({ config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source: SOURCE, error: null })).toEqual({ applied: true });
    expect(settings.state.error).toBeNull();
  });

  it('a missing policy.json (null config) brings the defaults back', async () => {
    const { settings, engine } = await setup();
    await settings.offer({ config: { concurrency: { maxInFlightPerTarget: 3 } }, source: SOURCE, error: null });
    expect(engine.config.concurrency.maxInFlightPerTarget).toBe(3);
    expect(await settings.offer({ config: null, source: null, error: null })).toEqual({ applied: true });
    expect(engine.config).toEqual(DEFAULT_POLICY_CONFIG);
    expect(settings.state.source).toBeNull();
  });

  it('test build: the policy from storage.local wins over the stored copy and over policy.json', async () => {
    const browser = new FakeBrowser();
    browser.storage.set(TEST_POLICY_KEY, { rateLimit: { requestsPerMinutePerPlatform: 9 } });
    browser.storage.set(POLICY_CONFIG_KEY, { config: { ...DEFAULT_POLICY_CONFIG, rateLimit: { ...DEFAULT_POLICY_CONFIG.rateLimit, requestsPerMinutePerPlatform: 2 } }, source: SOURCE, appliedAt: 1 });
    const { settings, engine } = await setup(browser, true);
    expect(engine.config.rateLimit.requestsPerMinutePerPlatform).toBe(9);
    expect(await settings.offer({ config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source: SOURCE, error: null })).toEqual({ applied: false });
    expect(engine.config.rateLimit.requestsPerMinutePerPlatform).toBe(9);
  });

  it('a refusal that arrives while the stored copy is still being read is not forgotten when the read ends', async () => {
    const browser = new FakeBrowser();
    browser.storage.set(POLICY_CONFIG_KEY, { config: DEFAULT_POLICY_CONFIG, source: SOURCE, appliedAt: 1 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const api = { storageGet: async (keys: string[] | null) => (await gate, browser.storageGet(keys)), storageSet: (items: Record<string, unknown>) => browser.storageSet(items) };
    const settings = new PolicySettings({ api, engine: new Promise(() => undefined), now: () => 5, log: () => undefined });
    const initial = settings.initialConfig(false);
    expect(await settings.offer({ config: null, source: SOURCE, error: 'is not JSON: Unexpected end' })).toEqual({ applied: false });
    release();
    await initial;
    expect(settings.state).toEqual({ source: SOURCE, error: 'is not JSON: Unexpected end', appliedAt: 1 });
  });

  it('an invalid stored copy is ignored: the engine starts with the defaults', async () => {
    const browser = new FakeBrowser();
    browser.storage.set(POLICY_CONFIG_KEY, { config: { rateLimit: { windowMs: 1 } }, source: SOURCE, appliedAt: 1 });
    const { engine, logs } = await setup(browser);
    expect(engine.config).toEqual(DEFAULT_POLICY_CONFIG);
    expect(logs.some((l) => l.includes('invalid stored policy config'))).toBe(true);
  });

  it('the background applies the policy.json its hello carries, and policy.configure from the host', async () => {
    const browser = new FakeBrowser();
    const clock = new FakeClock();
    const hosts: FakeHost[] = [];
    browser.onConnectNative = (port) =>
      hosts.push(new FakeHost(port, { hello: () => ({ ...helloResult(), policy: { config: { rateLimit: { requestsPerMinutePerPlatform: 5 } }, source: SOURCE, error: null } }) }));
    const bg = startBackground({ api: browser, clock, extensionVersion: '0.1.0', testBuild: false, testOrigin: null, log: () => undefined });
    const engine = await bg.engine;
    for (let i = 0; i < 20 && engine.config.rateLimit.requestsPerMinutePerPlatform !== 5; i++) await clock.advance(100);
    expect(engine.config.rateLimit.requestsPerMinutePerPlatform).toBe(5);
    const host = hosts[0] as FakeHost;
    expect(await host.request('policy.configure', { config: { rateLimit: { requestsPerMinutePerPlatform: 0 } }, source: SOURCE, error: null })).toEqual({ applied: false });
    const status = await host.request('browser.status', {});
    expect(status.policyConfig).toMatchObject({ source: SOURCE, error: expect.stringMatching(/^rateLimit\.requestsPerMinutePerPlatform: /) });
    expect(status.defaults.rateLimit.requestsPerMinutePerPlatform).toBe(5);
    bg.link.stop();
  });
});
