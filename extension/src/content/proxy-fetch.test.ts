import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FromPageProxySchema, type FromPageProxy, type ToPageProxy } from '../../../shared/extension-messages.js';
import { PageProxy, passedResponseHeaders, sameOriginUrl } from './proxy-fetch.js';

const ORIGIN = 'https://claude.ai';
const IDLE_MS = 5_000;

/** A response body the test pushes bytes into, chunk by chunk, or breaks off. */
class ControlledBody {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly stream = new ReadableStream<Uint8Array>({
    start: (controller) => {
      this.controller = controller;
    },
  });

  push(text: string): void {
    this.controller.enqueue(new TextEncoder().encode(text));
  }
  pushBytes(bytes: Uint8Array): void {
    this.controller.enqueue(bytes);
  }
  close(): void {
    this.controller.close();
  }
  fail(message: string): void {
    this.controller.error(new TypeError(message));
  }
}

/** A fake page fetch: records each call and answers with what the test decides. */
function fakeFetch() {
  const calls: { url: string; init: RequestInit }[] = [];
  let answer: (url: string, init: RequestInit) => Promise<Response> = async () => new Response('ok', { status: 200 });
  return {
    calls,
    answerWith(fn: (url: string, init: RequestInit) => Promise<Response>) {
      answer = fn;
    },
    fetch: (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return answer(url, init);
    },
  };
}

function fetchMessage(overrides: Partial<Extract<ToPageProxy, { type: 'proxy.fetch' }>> = {}): ToPageProxy {
  return { type: 'proxy.fetch', requestId: 'req-1', method: 'POST', path: '/api/chat', headers: {}, body: '{}', stream: false, idleTimeoutMs: IDLE_MS, ...overrides };
}

function setup() {
  const posted: FromPageProxy[] = [];
  const net = fakeFetch();
  const proxy = new PageProxy({
    fetch: net.fetch,
    origin: ORIGIN,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) },
    post: (m) => posted.push(FromPageProxySchema.parse(m)),
  });
  /** Resolves once a message matching `type` has been posted. */
  const settled = async () => vi.waitFor(() => {
    const last = posted.at(-1);
    if (last === undefined || last.type === 'proxy.chunk') throw new Error('not settled yet');
    return last;
  });
  return { posted, net, proxy, settled };
}

/** A proxy with one streamed request in flight whose body the test controls. */
function startStream() {
  const rig = setup();
  const body = new ControlledBody();
  rig.net.answerWith(async () => new Response(body.stream, { status: 200 }));
  rig.proxy.handle(fetchMessage({ stream: true }));
  return { ...rig, body };
}

describe('sameOriginUrl', () => {
  it('resolves a relative path on the page origin', () => {
    expect(sameOriginUrl('/api/chat?x=1', ORIGIN)).toBe('https://claude.ai/api/chat?x=1');
  });

  it.each(['//evil.example/x', 'https://evil.example/', 'api/chat', '/\\evil.example', '\\\\evil.example', ''])('rejects %j', (path) => {
    expect(sameOriginUrl(path, ORIGIN)).toBeNull();
  });
});

describe('response headers', () => {
  it('withholds set-cookie and credentials from response headers', () => {
    const headers = new Headers({ 'content-type': 'text/plain', 'retry-after': '30', authorization: 'Bearer t' });
    headers.append('set-cookie2', 'a=b');
    expect(passedResponseHeaders(headers)).toEqual({ 'content-type': 'text/plain', 'retry-after': '30' });
  });
});

describe('PageProxy', () => {
  beforeEach(() => {
    vi.useRealTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('rejects a path that leaves the page origin with bad_path and fetches nothing', async () => {
    const { posted, net, proxy, settled } = setup();
    proxy.handle(fetchMessage({ path: '//evil.example/steal' }));
    const end = await settled();
    expect(end).toMatchObject({ type: 'proxy.error', code: 'bad_path', partial: { receivedChunks: 0, receivedBytes: 0, lastSeq: -1, status: null } });
    expect(net.calls).toHaveLength(0);
    expect(posted).toHaveLength(1);
  });

  it('validates raw messages: a fetch with a cross-origin path is answered bad_path, other garbage is dropped', async () => {
    const { posted, net, proxy } = setup();
    expect(proxy.receive({ ...fetchMessage(), path: '//evil.example/steal' })).toBe(false);
    expect(proxy.receive({ ...fetchMessage(), path: 'https://evil.example/' })).toBe(false);
    expect(proxy.receive({ ...fetchMessage(), path: '//evil.example/', method: 'TRACE' })).toBe(false);
    expect(proxy.receive({ type: 'proxy.fetch', requestId: 'no spaces allowed', path: '//x' })).toBe(false);
    expect(proxy.receive(null)).toBe(false);
    expect(proxy.receive('proxy.fetch')).toBe(false);
    expect(proxy.receive({ type: 'proxy.steal', requestId: 'req-1' })).toBe(false);
    expect(posted).toEqual([
      expect.objectContaining({ type: 'proxy.error', requestId: 'req-1', code: 'bad_path' }),
      expect.objectContaining({ type: 'proxy.error', requestId: 'req-1', code: 'bad_path' }),
    ]);
    expect(net.calls).toHaveLength(0);
    expect(proxy.receive(fetchMessage())).toBe(true);
    await vi.waitFor(() => expect(posted).toHaveLength(3));
    expect(net.calls).toHaveLength(1);
  });

  it('fetches as the page: absolute same-origin URL, cookies included, the headers as sent', async () => {
    const { net, proxy, settled } = setup();
    expect(proxy.receive(fetchMessage({ headers: { 'X-App': 'y', accept: 'text/event-stream' }, body: '{"q":1}' }))).toBe(true);
    await settled();
    expect(net.calls).toHaveLength(1);
    const call = net.calls[0]!;
    expect(call.url).toBe('https://claude.ai/api/chat');
    expect(call.init).toMatchObject({ method: 'POST', credentials: 'include', body: '{"q":1}' });
    expect(call.init.headers).toEqual({ 'X-App': 'y', accept: 'text/event-stream' });
  });

  it.each<Record<string, string>>([{ Cookie: 'x=1' }, { 'Sec-Fetch-Site': 'none' }, { 'bad name': 'y' }, { 'x-app': 'line\r\nInjected: 1' }])('refuses a fetch carrying %j and fetches nothing', (headers) => {
    const { posted, net, proxy } = setup();
    expect(proxy.receive(fetchMessage({ headers }))).toBe(false);
    expect(net.calls).toHaveLength(0);
    expect(posted).toEqual([]);
  });

  it('answers a non-streamed request with one proxy.end carrying the whole body and its byte length', async () => {
    const { posted, net, proxy, settled } = setup();
    net.answerWith(async () => new Response('héllo', { status: 201, headers: { 'content-type': 'text/plain', 'set-cookie': 'session=new' } }));
    proxy.handle(fetchMessage());
    await settled();
    expect(posted).toEqual([
      { type: 'proxy.end', requestId: 'req-1', status: 201, headers: { 'content-type': 'text/plain' }, body: 'héllo', bodyLength: 6 },
    ]);
    expect(proxy.inFlight).toBe(0);
  });

  it('relays a stream as chunks with seq 0,1,2 in order, then an end without body', async () => {
    const { posted, net, proxy, settled } = setup();
    const body = new ControlledBody();
    net.answerWith(async () => new Response(body.stream, { status: 200, headers: { 'content-type': 'text/event-stream' } }));
    proxy.handle(fetchMessage({ stream: true }));
    body.push('data: one\n\n');
    await vi.waitFor(() => expect(posted).toHaveLength(1));
    body.push('data: two\n\n');
    // A character split across two reads comes out whole in the next chunk.
    const euro = new TextEncoder().encode('€');
    body.pushBytes(euro.subarray(0, 1));
    body.pushBytes(euro.subarray(1));
    body.close();
    const end = await settled();
    const chunks = posted.filter((m) => m.type === 'proxy.chunk');
    expect(chunks.map((c) => c.seq)).toEqual([0, 1, 2]);
    expect(chunks.map((c) => c.data).join('')).toBe('data: one\n\ndata: two\n\n€');
    expect(end).toEqual({ type: 'proxy.end', requestId: 'req-1', status: 200, headers: { 'content-type': 'text/event-stream' }, body: null, bodyLength: 25 });
  });

  it('ends a stream that breaks off with stream_error carrying what arrived', async () => {
    const { posted, settled, body } = startStream();
    body.push('abc');
    body.push('de');
    await vi.waitFor(() => expect(posted).toHaveLength(2));
    body.fail('connection reset');
    const end = await settled();
    expect(end).toMatchObject({
      type: 'proxy.error',
      code: 'stream_error',
      partial: { receivedChunks: 2, receivedBytes: 5, lastSeq: 1, status: 200 },
    });
    expect(end.type === 'proxy.error' && end.message).toContain('connection reset');
  });

  it('follows no redirect: fetches in manual mode and ends an opaque redirect with cross_origin_redirect', async () => {
    const { posted, net, proxy, settled } = setup();
    // What Firefox hands a manual-mode fetch for a 3xx with a Location: status 0, no headers, no target.
    net.answerWith(async () => Object.defineProperty(new Response(null, { status: 200 }), 'type', { value: 'opaqueredirect' }));
    proxy.handle(fetchMessage({ stream: true }));
    const end = await settled();
    expect(net.calls[0]!.init.redirect).toBe('manual');
    expect(end).toMatchObject({ type: 'proxy.error', code: 'cross_origin_redirect', partial: { receivedChunks: 0, receivedBytes: 0, lastSeq: -1, status: null } });
    expect(posted).toHaveLength(1);
    expect(proxy.inFlight).toBe(0);
  });

  it('reports a fetch that never reached the platform as network_error', async () => {
    const { net, proxy, settled } = setup();
    net.answerWith(async () => {
      throw new TypeError('NetworkError when attempting to fetch resource.');
    });
    proxy.handle(fetchMessage());
    expect(await settled()).toMatchObject({ type: 'proxy.error', code: 'network_error', partial: { receivedChunks: 0, lastSeq: -1, status: null } });
  });

  it('aborts on proxy.abort: the fetch signal fires and the request ends cancelled with its partial', async () => {
    const { posted, net, proxy, settled, body } = startStream();
    body.push('first');
    await vi.waitFor(() => expect(posted).toHaveLength(1));
    proxy.handle({ type: 'proxy.abort', requestId: 'req-1' });
    const end = await settled();
    expect(end).toMatchObject({ type: 'proxy.error', code: 'cancelled', partial: { receivedChunks: 1, receivedBytes: 5, lastSeq: 0, status: 200 } });
    expect(net.calls[0]!.init.signal?.aborted).toBe(true);
    expect(proxy.inFlight).toBe(0);
  });

  it('aborts a request still waiting for headers even when the fetch ignores its signal', async () => {
    const { net, proxy, settled } = setup();
    net.answerWith(() => new Promise<Response>(() => undefined));
    proxy.handle(fetchMessage());
    proxy.abortAll();
    expect(await settled()).toMatchObject({ type: 'proxy.error', code: 'cancelled', partial: { status: null } });
  });

  it('gives up with upstream_timeout when no byte arrives for idleTimeoutMs, and not before', async () => {
    vi.useFakeTimers();
    const { posted, net, body } = startStream();
    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    body.push('late but alive');
    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    // Each byte re-armed the timer: still running.
    expect(posted.map((m) => m.type)).toEqual(['proxy.chunk']);
    await vi.advanceTimersByTimeAsync(1);
    expect(posted.at(-1)).toMatchObject({ type: 'proxy.error', code: 'upstream_timeout', partial: { receivedChunks: 1, receivedBytes: 14, lastSeq: 0, status: 200 } });
    expect(net.calls[0]!.init.signal?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out a platform that never sends headers', async () => {
    vi.useFakeTimers();
    const { posted, net, proxy } = setup();
    net.answerWith(() => new Promise<Response>(() => undefined));
    proxy.handle(fetchMessage());
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect(posted).toEqual([
      expect.objectContaining({ type: 'proxy.error', code: 'upstream_timeout', partial: { receivedChunks: 0, receivedBytes: 0, lastSeq: -1, status: null } }),
    ]);
  });

  it('refuses a second fetch under an id already in flight without disturbing the first', async () => {
    const { posted, net, proxy, body } = startStream();
    proxy.handle(fetchMessage({ stream: true }));
    expect(posted).toEqual([expect.objectContaining({ type: 'proxy.error', code: 'network_error' })]);
    body.push('x');
    body.close();
    await vi.waitFor(() => expect(posted).toHaveLength(3));
    expect(posted.slice(1)).toEqual([
      { type: 'proxy.chunk', requestId: 'req-1', seq: 0, data: 'x' },
      { type: 'proxy.end', requestId: 'req-1', status: 200, headers: {}, body: null, bodyLength: 1 },
    ]);
    expect(net.calls).toHaveLength(1);
  });
});
