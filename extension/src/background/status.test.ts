import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../../shared/policy-config.js';
import type { BrowserStatus, HostLink, PolicySnapshot } from '../../../shared/status.js';
import { DropCounter } from './message-guard.js';
import { StatusService, type StatusEngine } from './status.js';
import { FakeClock, FakePort, settle } from './test-fakes.js';

const link: HostLink = { connected: false, reason: 'No such native application conductor_fx', hostVersion: null, schemaVersion: null, dbPath: null, lastSavedAt: null, storeError: null, lastConnectedAt: null, recovery: null, api: null };

class Engine implements StatusEngine {
  paused: string | null = null;
  resets: string[] = [];
  private listeners: (() => void)[] = [];
  getSnapshot(): PolicySnapshot {
    return { generatedAt: 1, paused: { paused: this.paused !== null, reason: this.paused, since: null }, defaults: DEFAULT_POLICY_CONFIG, accounts: [], targets: [] };
  }
  onChange(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => undefined;
  }
  resetTarget(t: { platform: string; clientId: string }): boolean {
    this.resets.push(`${t.platform}/${t.clientId}`);
    this.fire();
    return true;
  }
  pause(reason: string): void {
    this.paused = reason;
    this.fire();
  }
  resume(): void {
    this.paused = null;
    this.fire();
  }
  fire(): void {
    for (const l of this.listeners) l();
  }
}

function setup() {
  const clock = new FakeClock();
  const engine = new Engine();
  const dropped = new DropCounter();
  const status = new StatusService({
    engine: Promise.resolve(engine),
    link: { state: link, onStateChange: () => () => undefined },
    tabs: { summary: () => [{ platform: 'claude', tabs: 2, containers: [] }], onChange: () => () => undefined },
    dropped,
    policyConfig: { state: { source: '/data/policy.json', error: 'rateLimit.windowMs: Too small', appliedAt: 5 }, onChange: () => () => undefined },
    extensionVersion: '0.1.0',
    timers: clock,
  });
  return { clock, engine, dropped, status };
}

const statuses = (port: FakePort) => port.postedOfType('status').map((m) => m['status'] as BrowserStatus);

describe('StatusService', () => {
  it('builds the browser status from the engine snapshot, the host link, tabs and drops', async () => {
    const { status, dropped } = setup();
    dropped.drop('test');
    expect(await status.current()).toMatchObject({ host: link, tabs: [{ platform: 'claude', tabs: 2 }], droppedMessages: 1, extensionVersion: '0.1.0', paused: { paused: false }, policyConfig: { source: '/data/policy.json', error: 'rateLimit.windowMs: Too small', appliedAt: 5 } });
  });

  it('pushes to a popup at once, then coalesces a burst of changes into one push per 250 ms', async () => {
    const { status, engine, clock } = setup();
    await settle();
    const popup = new FakePort('conductor-fx/popup');
    status.addPopup(popup);
    expect(statuses(popup)).toHaveLength(1);
    for (let i = 0; i < 10; i++) engine.fire();
    await clock.advance(249);
    expect(statuses(popup)).toHaveLength(1);
    await clock.advance(1);
    expect(statuses(popup)).toHaveLength(2);
  });

  it('runs popup commands, drops invalid ones, and stops pushing to a closed popup', async () => {
    const { status, engine, clock, dropped } = setup();
    await settle();
    const popup = new FakePort('conductor-fx/popup');
    status.addPopup(popup);
    popup.deliver({ type: 'reset', platform: 'claude', clientId: 'agent' });
    popup.deliver({ type: 'pause', reason: 'away' });
    popup.deliver({ type: 'explode' });
    await clock.advance(250);
    expect(engine.resets).toEqual(['claude/agent']);
    expect(statuses(popup).at(-1)?.paused).toMatchObject({ paused: true, reason: 'away' });
    expect(dropped.count).toBe(1);

    popup.remoteDisconnect();
    const before = popup.posted.length;
    await status.run({ type: 'resume' });
    await clock.advance(250);
    expect(engine.paused).toBeNull();
    expect(popup.posted.length).toBe(before);
  });
});
