import { describe, expect, it } from 'vitest';
import { checkPageProxySender, checkPopupSender, DropCounter, knownPlatforms, parsePageProxyMessage, parsePopupCommand, platformOfUrl } from './message-guard.js';
import { TEST_ORIGIN } from './test-origin.js';
import { EXTENSION_ID, EXTENSION_ORIGIN, tabSender } from './test-fakes.js';

describe('platformOfUrl', () => {
  it('maps exactly the platform origins', () => {
    expect(platformOfUrl('https://claude.ai/chat/1', null)).toBe('claude');
    expect(platformOfUrl('https://chatgpt.com/', null)).toBe('chatgpt');
    expect(platformOfUrl('https://gemini.google.com/app', null)).toBe('gemini');
    expect(platformOfUrl('http://claude.ai/', null)).toBeNull();
    expect(platformOfUrl('https://evil.claude.ai/', null)).toBeNull();
    expect(platformOfUrl('https://claude.ai.evil.com/', null)).toBeNull();
    expect(platformOfUrl('not a url', null)).toBeNull();
    expect(platformOfUrl(undefined, null)).toBeNull();
  });

  it('knows the loopback mock platform only in the test build', () => {
    expect(platformOfUrl('http://127.0.0.1:40123/', TEST_ORIGIN)).toBe('mock');
    expect(platformOfUrl('http://127.0.0.1:40123/', null)).toBeNull();
    expect(platformOfUrl('http://localhost:40123/', TEST_ORIGIN)).toBeNull();
    expect(knownPlatforms(TEST_ORIGIN).has('mock')).toBe(true);
    expect(knownPlatforms(null).has('mock')).toBe(false);
    expect([...knownPlatforms(null)]).toEqual(['claude', 'chatgpt', 'gemini']);
  });
});

describe('checkPageProxySender', () => {
  it('accepts our content script in the top frame of a platform tab', () => {
    expect(checkPageProxySender(tabSender(7, 'https://claude.ai/new', { cookieStoreId: 'firefox-container-2', lastAccessed: 42 }), EXTENSION_ID, null)).toEqual({
      platform: 'claude',
      tabId: 7,
      cookieStoreId: 'firefox-container-2',
      lastAccessed: 42,
    });
  });

  it('refuses another extension, a foreign origin, a sub-frame or a sender without a tab', () => {
    expect(checkPageProxySender(tabSender(7, 'https://claude.ai/', { id: 'other@addon' }), EXTENSION_ID, null)).toBeNull();
    expect(checkPageProxySender(tabSender(7, 'https://example.com/'), EXTENSION_ID, null)).toBeNull();
    expect(checkPageProxySender({ ...tabSender(7, 'https://claude.ai/'), frameId: 3 }, EXTENSION_ID, null)).toBeNull();
    expect(checkPageProxySender({ id: EXTENSION_ID, url: 'https://claude.ai/', frameId: 0 }, EXTENSION_ID, null)).toBeNull();
    expect(checkPageProxySender(undefined, EXTENSION_ID, null)).toBeNull();
    const mismatched = { ...tabSender(7, 'https://claude.ai/'), url: 'https://example.com/' };
    expect(checkPageProxySender(mismatched, EXTENSION_ID, null)).toBeNull();
  });
});

describe('checkPopupSender', () => {
  it('accepts only pages of this add-on', () => {
    expect(checkPopupSender({ id: EXTENSION_ID, url: `${EXTENSION_ORIGIN}/popup/popup.html` }, EXTENSION_ID, `${EXTENSION_ORIGIN}/`)).toBe(true);
    expect(checkPopupSender({ id: EXTENSION_ID, url: 'https://claude.ai/' }, EXTENSION_ID, `${EXTENSION_ORIGIN}/`)).toBe(false);
    expect(checkPopupSender({ id: 'other@addon', url: `${EXTENSION_ORIGIN}/popup/popup.html` }, EXTENSION_ID, `${EXTENSION_ORIGIN}/`)).toBe(false);
    expect(checkPopupSender({ id: EXTENSION_ID }, EXTENSION_ID, `${EXTENSION_ORIGIN}/`)).toBe(false);
  });
});

describe('message parsing', () => {
  it('accepts well-formed messages and refuses the rest', () => {
    expect(parsePageProxyMessage({ type: 'proxy.chunk', requestId: 'r1', seq: 0, data: 'x' })).toEqual({ type: 'proxy.chunk', requestId: 'r1', seq: 0, data: 'x' });
    expect(parsePageProxyMessage({ type: 'proxy.chunk', requestId: 'r1', seq: -1, data: 'x' })).toBeNull();
    expect(parsePageProxyMessage({ type: 'proxy.fetch' })).toBeNull();
    expect(parsePageProxyMessage('hello')).toBeNull();
    expect(parsePopupCommand({ type: 'pause', reason: 'lunch' })).toEqual({ type: 'pause', reason: 'lunch' });
    expect(parsePopupCommand({ type: 'pause', reason: '' })).toBeNull();
    expect(parsePopupCommand({ type: 'reset', platform: 'claude' })).toBeNull();
  });
});

describe('DropCounter', () => {
  it('counts drops and tells listeners', () => {
    const reasons: string[] = [];
    const counter = new DropCounter((_, fields) => reasons.push(String(fields?.['reason'])));
    let told = 0;
    counter.onDrop(() => told++);
    counter.drop('bad sender');
    counter.drop('bad message');
    expect(counter.count).toBe(2);
    expect(told).toBe(2);
    expect(reasons).toEqual(['bad sender', 'bad message']);
  });
});
