import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MOCK_CHAT_PATH, MockPlatform } from './mock-platform.js';

// The end-to-end suite trusts what the mock records and how it answers; this pins both down
// without a browser.
describe('mock platform', () => {
  let mock: MockPlatform;

  beforeEach(async () => {
    mock = await MockPlatform.start();
  });

  afterEach(async () => {
    await mock.close();
  });

  const chat = (init: RequestInit = {}): Promise<Response> => fetch(`${mock.origin}${MOCK_CHAT_PATH}`, { method: 'POST', body: '{"q":1}', ...init });

  it('serves a page that sets an HttpOnly session cookie', async () => {
    const page = await fetch(mock.pageUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Mock chat platform</title>');
    expect(page.headers.get('set-cookie')).toBe(`session=${mock.sessionId}; Path=/; HttpOnly; SameSite=Lax`);
  });

  it('records the method, path, cookie, origin, referer and body of each chat request', async () => {
    await chat({ headers: { cookie: 'session=abc', origin: 'http://127.0.0.1:1', referer: 'http://127.0.0.1:1/' } });
    await chat();
    expect(mock.requests).toEqual([
      { method: 'POST', path: MOCK_CHAT_PATH, cookie: 'session=abc', origin: 'http://127.0.0.1:1', referer: 'http://127.0.0.1:1/', body: '{"q":1}' },
      { method: 'POST', path: MOCK_CHAT_PATH, cookie: null, origin: null, referer: null, body: '{"q":1}' },
    ]);
  });

  it('answers queued replies in order, then the default JSON', async () => {
    mock.enqueue({ kind: 'error', status: 429, retryAfterS: 120 }, { kind: 'error', status: 500 }, { kind: 'json', body: { a: 1 } });
    const limited = await chat();
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '120']);
    const failed = await chat();
    expect([failed.status, failed.headers.get('retry-after')]).toEqual([500, null]);
    expect(await (await chat()).json()).toEqual({ a: 1 });
    expect(await (await chat()).json()).toEqual({ reply: 'ok' });
  });

  it('streams an event stream one chunk at a time', async () => {
    mock.enqueue({ kind: 'stream', chunks: ['a', 'b', 'c'], gapMs: 20 });
    const res = await chat();
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const pieces: string[] = [];
    const decoder = new TextDecoder();
    for await (const piece of res.body as ReadableStream<Uint8Array>) pieces.push(decoder.decode(piece));
    expect(pieces.join('')).toBe('data: a\n\ndata: b\n\ndata: c\n\n');
    // Written 20 ms apart on a no-delay socket: a mock that buffered the body would arrive whole.
    expect(pieces.length).toBeGreaterThan(1);
  });

  it('keeps a hanging stream open until close() drops it', async () => {
    mock.enqueue({ kind: 'stream', chunks: ['only'], gapMs: 5, hang: true });
    const res = await chat();
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: only\n\n');
    const next = reader.read();
    await mock.close();
    await expect(next).rejects.toThrow();
    mock = await MockPlatform.start(); // afterEach closes one
  });

  it('answers a queued redirect with its status and Location, recording the request', async () => {
    mock.enqueue({ kind: 'redirect', status: 307, location: 'http://127.0.0.1:9/api/chat' });
    const res = await chat({ redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([307, 'http://127.0.0.1:9/api/chat']);
    expect(mock.requests).toHaveLength(1);
  });

  it('answers 404 off its two routes', async () => {
    expect((await fetch(`${mock.origin}/elsewhere`)).status).toBe(404);
  });
});
