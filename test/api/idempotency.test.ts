// Request ids as idempotency keys, against the real host and its SQLite journal: a finished
// request is replayed from the journal, one in flight is joined, an interrupted one is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConductorError } from '../../shared/errors.js';
import type { RelayRequest, RelayResponse } from '../../shared/relay.js';
import { waitFor } from '../helpers/wait.js';
import { type ApiHost, echoResponse, journalRow, startApiHost } from './api-host.js';
import { ADMISSION } from './fakes.js';
import { errorCode, rawRequest } from './http.js';

describe('request_id idempotency (real host, fake add-on)', () => {
  let h: ApiHost;
  const dispatched: string[] = [];
  const held = new Map<string, (r: RelayResponse) => void>();

  beforeAll(async () => {
    h = await startApiHost();
    h.host.respondWith({
      'relay.request': async (request: RelayRequest) => {
        dispatched.push(request.requestId);
        const identity = { requestId: request.requestId, platform: request.platform, clientId: request.clientId, method: request.method, path: request.path };
        // As the real add-on does: the admission is written ahead, the outcome after.
        await h.host.request('journal.record', { entries: [journalRow(identity, { outcome: 'admitted', finishedAt: null, httpStatus: null })] });
        const response = request.path === '/slow' ? await new Promise<RelayResponse>((resolve) => held.set(request.requestId, resolve)) : echoResponse(request);
        if (request.path === '/fails') {
          await h.host.request('journal.record', { entries: [journalRow(identity, { outcome: 'failure', httpStatus: 500, errorCode: 'upstream_5xx' })] });
          throw new ConductorError('upstream_5xx', 'the platform answered 500');
        }
        await h.host.request('journal.record', { entries: [journalRow(identity, { outcome: 'success', httpStatus: response.status })] });
        return response;
      },
    });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  const count = (id: string) => dispatched.filter((d) => d === id).length;

  it('replays a finished request from the journal (status and admission, no body), without sending it again', async () => {
    const first = await h.client.relay({ platform: 'mock', method: 'POST', path: '/chat', body: 'hi', requestId: 'idem-1' });
    expect(first).toMatchObject({ status: 200, replayed: false });
    expect(first.body).not.toBeNull();
    const again = await h.client.relay({ platform: 'mock', method: 'POST', path: '/chat', body: 'hi', requestId: 'idem-1' });
    expect(again).toEqual({ request_id: 'idem-1', status: 200, headers: {}, body: null, admission: ADMISSION, replayed: true });
    expect(count('idem-1')).toBe(1);
  });

  it('replays a finished request asked for as a stream as a lone stream_end marked replayed', async () => {
    await h.client.relay({ platform: 'mock', method: 'GET', path: '/s', requestId: 'idem-stream' });
    const pieces: unknown[] = [];
    const end = await h.client.relayStream({ platform: 'mock', method: 'GET', path: '/s', requestId: 'idem-stream' }, (c) => pieces.push(c));
    expect(pieces).toEqual([]);
    expect(end).toMatchObject({ request_id: 'idem-stream', status: 200, body_length: null, replayed: true });
    expect(count('idem-stream')).toBe(1);
  });

  it('replays a failed request as its recorded error, marked replayed', async () => {
    await expect(h.client.relay({ platform: 'mock', method: 'GET', path: '/fails', requestId: 'idem-fail' })).rejects.toMatchObject({ code: 'upstream_5xx' });
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/fails', request_id: 'idem-fail' }) });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'upstream_5xx', details: { replayed: true, outcome: 'failure', http_status: 500 } } });
    expect(count('idem-fail')).toBe(1);
  });

  it('joins a repeat of a request still in flight: one dispatch, the same answer for both', async () => {
    const input = { platform: 'mock', method: 'POST' as const, path: '/slow', body: 'b', requestId: 'idem-join' };
    const first = h.client.relay(input);
    await waitFor('the first call to reach the add-on', () => (held.has('idem-join') ? true : undefined), 5_000);
    const second = h.client.relay(input);
    // The add-on answers only once the host has joined the second call to the first.
    await waitFor('the host to join the second call', () => (h.host.stderr().includes('request joined its relay in flight {"requestId":"idem-join"}') ? true : undefined), 5_000);
    held.get('idem-join')!(echoResponse({ requestId: 'idem-join', platform: 'mock', clientId: 'default', container: 'firefox-default', method: 'POST', path: '/slow', headers: {}, body: 'b', stream: false, maxWaitMs: null }));
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual(b);
    expect(a.replayed).toBe(false);
    expect(count('idem-join')).toBe(1);
  });

  it('refuses the same id with different parameters as 409 duplicate_request, in flight or finished', async () => {
    const finished = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/other', request_id: 'idem-1' }) });
    expect(finished.status).toBe(409);
    expect(errorCode(finished)).toBe('duplicate_request');

    const slow = h.client.relay({ platform: 'mock', method: 'POST', path: '/slow', body: 'one', requestId: 'idem-dup' });
    await waitFor('the slow call to reach the add-on', () => (held.has('idem-dup') ? true : undefined), 5_000);
    await expect(h.client.relay({ platform: 'mock', method: 'POST', path: '/slow', body: 'two', requestId: 'idem-dup' })).rejects.toMatchObject({ code: 'duplicate_request' });
    held.get('idem-dup')!(echoResponse({ requestId: 'idem-dup', platform: 'mock', clientId: 'default', container: 'firefox-default', method: 'POST', path: '/slow', headers: {}, body: 'one', stream: false, maxWaitMs: null }));
    await slow;
    expect(count('idem-dup')).toBe(1);
  });

  it('reports an interrupted request as 409 interrupted and never sends it again', async () => {
    const identity = { requestId: 'idem-interrupted', platform: 'mock', clientId: 'default', method: 'POST' as const, path: '/chat' };
    await h.host.request('journal.record', { entries: [journalRow(identity, { outcome: 'interrupted', httpStatus: null, finishedAt: null })] });
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'POST', path: '/chat', request_id: 'idem-interrupted' }) });
    expect(answer.status).toBe(409);
    expect(errorCode(answer)).toBe('interrupted');
    expect(count('idem-interrupted')).toBe(0);
  });
});
