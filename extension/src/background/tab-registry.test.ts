import { describe, expect, it } from 'vitest';
import { TabRegistry } from './tab-registry.js';
import { FakeClock, FakePort } from './test-fakes.js';

function tab(tabId: number, platform: string, focusedAt: number, cookieStoreId: string | null = 'firefox-default') {
  return { tabId, platform, cookieStoreId, port: new FakePort('conductor-fx/page-proxy'), focusedAt };
}

describe('TabRegistry', () => {
  it('picks the most recently focused tab of the platform, and follows focus changes', async () => {
    const clock = new FakeClock();
    const reg = new TabRegistry(() => clock.now());
    reg.add(tab(1, 'claude', 100));
    reg.add(tab(2, 'claude', 300));
    reg.add(tab(3, 'chatgpt', 900));
    expect(reg.choose('claude', 'firefox-default')?.tabId).toBe(2);
    reg.focus(1);
    expect(reg.choose('claude', 'firefox-default')?.tabId).toBe(1);
    expect(reg.choose('gemini', 'firefox-default')).toBeUndefined();
  });

  it('uses only tabs of the named container, never another account’s (no fallback)', () => {
    const reg = new TabRegistry(() => 0);
    reg.add(tab(1, 'claude', 500));
    reg.add(tab(2, 'claude', 100, 'firefox-container-3'));
    reg.add(tab(3, 'claude', 900, null));
    expect(reg.choose('claude', 'firefox-container-3')?.tabId).toBe(2);
    // A tab Firefox named no container for is in the default one; the most recently focused wins.
    expect(reg.choose('claude', 'firefox-default')?.tabId).toBe(3);
    expect(reg.choose('claude', 'firefox-container-9')).toBeUndefined();
    reg.removeTab(2);
    expect(reg.choose('claude', 'firefox-container-3')).toBeUndefined();
  });

  it('keeps a re-registered tab when the old port of the same tab disconnects late', () => {
    const reg = new TabRegistry(() => 0);
    const first = tab(1, 'claude', 0);
    const second = tab(1, 'claude', 0);
    reg.add(first);
    reg.add(second);
    expect(reg.removePort(1, first.port)).toBe(false);
    expect(reg.choose('claude', 'firefox-default')?.port).toBe(second.port);
    expect(reg.removePort(1, second.port)).toBe(true);
    expect(reg.choose('claude', 'firefox-default')).toBeUndefined();
  });

  it('summarises tabs and containers per platform and tells listeners of changes', () => {
    const reg = new TabRegistry(() => 0);
    let changes = 0;
    reg.onChange(() => changes++);
    reg.add(tab(1, 'claude', 0));
    reg.add(tab(2, 'claude', 0, 'firefox-container-1'));
    reg.add(tab(3, 'chatgpt', 0, null));
    reg.removeTab(3);
    reg.removeTab(99);
    expect(reg.summary()).toEqual([{ platform: 'claude', tabs: 2, containers: ['firefox-container-1', 'firefox-default'] }]);
    expect(changes).toBe(4);
  });
});
