// Streaming relays over SSE against the real host with the fake add-on: order by seq, the end
// event, a stream breaking off, an error before any event, and a caller leaving mid-stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseDecoder } from '../../shared/sse.js';
import { ConductorError } from '../../shared/errors.js';
import type { RelayRequest, RelayResponse } from '../../shared/relay.js';
import { waitFor } from '../helpers/wait.js';
import { type ApiHost, startApiHost } from './api-host.js';
import { ADMISSION } from './fakes.js';
import { rawRequest } from './http.js';

describe('streamed relays (real host, fake add-on)', () => {
  let h: ApiHost;
  const cancels: string[] = [];
  /** Relays held open until the add-on is told to cancel them. */
  const held = new Map<string, (err: ConductorError) => void>();

  const end = (request: RelayRequest, bodyLength: number): RelayResponse => ({ requestId: request.requestId, status: 200, headers: { 'content-type': 'text/event-stream' }, body: null, bodyLength, chunked: true, admission: ADMISSION });

  beforeAll(async () => {
    h = await startApiHost();
    h.host.respondWith({
      'relay.request': (request) => {
        const chunk = (seq: number, data: string) => h.host.emit('relay.chunk', { requestId: request.requestId, seq, data });
        switch (request.path) {
          case '/ordered':
            // Sent out of order on purpose: the API must put them back in seq order.
            for (const seq of [0, 2, 1, 4, 3]) chunk(seq, `c${seq};`);
            return end(request, 15);
          case '/breaks':
            chunk(0, 'first');
            chunk(1, 'second');
            throw new ConductorError('upstream_timeout', 'the stream went idle');
          case '/refused':
            throw new ConductorError('circuit_open', 'open', { retry_after_ms: 42_000 });
          case '/hangs':
            chunk(0, 'partial');
            return new Promise<RelayResponse>((_resolve, reject) => held.set(request.requestId, reject));
          default:
            throw new ConductorError('bad_path', 'unexpected path in the test');
        }
      },
      'relay.cancel': ({ requestId }) => {
        cancels.push(requestId);
        held.get(requestId)?.(new ConductorError('cancelled', 'cancelled by the caller'));
        return { cancelled: held.delete(requestId) };
      },
    });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  const streamBody = (path: string, requestId: string) => JSON.stringify({ platform: 'mock', method: 'POST', path, body: '{}', stream: true, request_id: requestId });

  it('sends stream_event in seq order with ids, then stream_end with status, headers, length and admission', async () => {
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: streamBody('/ordered', 'req-stream-1') });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = new SseDecoder().push(answer.body);
    expect(events.map((e) => e.event)).toEqual([...Array(5).fill('stream_event'), 'stream_end']);
    expect(events.slice(0, 5).map((e) => JSON.parse(e.data))).toEqual([0, 1, 2, 3, 4].map((seq) => ({ seq, data: `c${seq};` })));
    expect(answer.body).toMatch(/^event: stream_event\nid: 0\n/);
    expect(JSON.parse(events[5]!.data)).toEqual({ request_id: 'req-stream-1', status: 200, headers: { 'content-type': 'text/event-stream' }, body_length: 15, admission: ADMISSION, replayed: false });
  });

  it('hands each piece to relayStream\'s callback in order and resolves with the end', async () => {
    const pieces: number[] = [];
    const result = await h.client.relayStream({ platform: 'mock', method: 'POST', path: '/ordered', body: '{}' }, (chunk) => pieces.push(chunk.seq));
    expect(pieces).toEqual([0, 1, 2, 3, 4]);
    expect(result).toMatchObject({ status: 200, body_length: 15, replayed: false });
  });

  it('ends a stream that breaks off with stream_error carrying what had arrived', async () => {
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: streamBody('/breaks', 'req-stream-2') });
    const events = new SseDecoder().push(answer.body);
    expect(events.map((e) => e.event)).toEqual(['stream_event', 'stream_event', 'stream_error']);
    expect(JSON.parse(events[2]!.data)).toEqual({ code: 'upstream_timeout', message: 'the stream went idle', partial: { receivedChunks: 2, receivedBytes: 11, lastSeq: 1, status: null } });

    const seen: string[] = [];
    const failure = await h.client.relayStream({ platform: 'mock', method: 'POST', path: '/breaks' }, (c) => seen.push(c.data)).catch((err: unknown) => err);
    expect(seen).toEqual(['first', 'second']);
    expect(failure).toBeInstanceOf(ConductorError);
    expect(failure).toMatchObject({ code: 'upstream_timeout', details: { partial: { receivedChunks: 2, lastSeq: 1 } } });
  });

  it('answers an error that comes before any event with its own HTTP status and Retry-After', async () => {
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: streamBody('/refused', 'req-stream-3') });
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('42');
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
  });

  it('tells the add-on to cancel when the caller disconnects mid-stream', async () => {
    const abort = new AbortController();
    const got: string[] = [];
    const outcome = h.client
      .relayStream({ platform: 'mock', method: 'POST', path: '/hangs', requestId: 'req-stream-hang' }, (c) => {
        got.push(c.data);
        abort.abort();
      }, { signal: abort.signal })
      .catch((err: unknown) => err);
    expect(await outcome).toMatchObject({ code: 'cancelled' });
    expect(got).toEqual(['partial']);
    await waitFor('relay.cancel to reach the fake add-on', () => (cancels.includes('req-stream-hang') ? true : undefined), 5_000);
    expect(held.has('req-stream-hang')).toBe(false);
  });
});
