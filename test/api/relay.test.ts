// POST /v1/browser/request against the real host with the fake add-on: the relayed request,
// the answer, chunked bodies, and the HTTP status of every way a relay can fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConductorError, type ErrorCode } from '../../shared/errors.js';
import type { RelayRequest, RelayResponse } from '../../shared/relay.js';
import { type ApiHost, journalRow, startApiHost } from './api-host.js';
import { ADMISSION } from './fakes.js';
import { errorCode, rawRequest } from './http.js';
import { startHost } from '../helpers/host-process.js';

describe('relaying a request (real host, fake add-on)', () => {
  let h: ApiHost;
  const seen: RelayRequest[] = [];
  /** The error the fake add-on answers the next relay with, when set. */
  let failWith: ConductorError | null = null;

  beforeAll(async () => {
    h = await startApiHost();
    h.host.respondWith({
      'relay.request': (request): RelayResponse => {
        seen.push(request);
        if (failWith !== null) throw failWith;
        if (request.path === '/chunked') {
          for (const [seq, data] of ['hel', 'lo ', 'world'].entries()) h.host.emit('relay.chunk', { requestId: request.requestId, seq, data });
          return { requestId: request.requestId, status: 200, headers: {}, body: null, bodyLength: 11, chunked: true, admission: ADMISSION };
        }
        return { requestId: request.requestId, status: 201, headers: { 'x-upstream': 'yes' }, body: `echo:${request.body}`, bodyLength: 10, chunked: false, admission: ADMISSION };
      },
    });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  it('forwards the request to the add-on and answers {request_id, status, headers, body, admission}', async () => {
    const answer = await rawRequest({
      port: h.port,
      method: 'POST',
      path: '/v1/browser/request',
      headers: h.auth,
      body: JSON.stringify({ platform: 'mock', client_id: 'agent-7', method: 'POST', path: '/api/chat?x=1', headers: { 'content-type': 'text/plain' }, body: 'hi', request_id: 'req-forward-1', max_wait_ms: 500 }),
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ request_id: 'req-forward-1', status: 201, headers: { 'x-upstream': 'yes' }, body: 'echo:hi', admission: ADMISSION, replayed: false });
    expect(seen.at(-1)).toEqual({ requestId: 'req-forward-1', platform: 'mock', clientId: 'agent-7', method: 'POST', path: '/api/chat?x=1', headers: { 'content-type': 'text/plain' }, body: 'hi', stream: false, maxWaitMs: 500 });
  });

  it('makes a request id and uses the default client when none is given', async () => {
    const response = await h.client.relay({ platform: 'mock', method: 'GET', path: '/a' });
    expect(response.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.at(-1)).toMatchObject({ requestId: response.request_id, clientId: 'default', body: null });
  });

  it('reassembles a body the add-on sent as relay.chunk events', async () => {
    const response = await h.client.relay({ platform: 'mock', method: 'GET', path: '/chunked' });
    expect(response.body).toBe('hello world');
  });

  const mappings: [ErrorCode, number, Record<string, unknown> | undefined][] = [
    ['circuit_open', 429, { retry_after_ms: 90_500 }],
    ['rate_limited', 429, { retry_after_ms: 30_000 }],
    ['backoff_active', 429, { retry_after_ms: 1_000 }],
    ['upstream_429', 429, { retry_after_ms: 120_000 }],
    ['waiter_timeout', 429, undefined],
    ['no_tab', 409, undefined],
    ['paused', 503, { reason: 'lunch', retry_after_ms: 60_000 }],
    ['upstream_5xx', 502, undefined],
    ['network_error', 502, undefined],
    ['auth_required', 502, undefined],
    ['upstream_timeout', 504, undefined],
    ['lease_reclaimed', 504, undefined],
    ['bad_path', 400, undefined],
    ['unknown_platform', 404, undefined],
  ];

  it.each(mappings)('answers the add-on\'s %s with HTTP %i (Retry-After from retry_after_ms)', async (code, status, details) => {
    failWith = new ConductorError(code, `fake ${code}`, details);
    try {
      const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/fail' }) });
      expect(answer.status).toBe(status);
      const error = (JSON.parse(answer.body) as { error: { code: string; message: string; details?: unknown; retry_after_ms?: number } }).error;
      expect(error).toMatchObject({ code, message: `fake ${code}` });
      const wait = details?.['retry_after_ms'];
      if (typeof wait === 'number') {
        expect(answer.headers['retry-after']).toBe(String(Math.ceil(wait / 1000)));
        expect(error.retry_after_ms).toBe(wait);
        expect(error.details).toEqual(details);
      } else {
        expect(answer.headers['retry-after']).toBeUndefined();
      }
    } finally {
      failWith = null;
    }
  });

  it('surfaces the add-on\'s error through the typed client as a ConductorError with its details', async () => {
    failWith = new ConductorError('circuit_open', 'open', { retry_after_ms: 5_000 });
    try {
      await expect(h.client.relay({ platform: 'mock', method: 'GET', path: '/fail' })).rejects.toMatchObject({ code: 'circuit_open', details: { retry_after_ms: 5_000 } });
    } finally {
      failWith = null;
    }
  });

  it('answers 404 unknown_platform for a platform the add-on never reported, journals the rejection, and relays nothing', async () => {
    const before = seen.length;
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'nowhere', method: 'GET', path: '/x', request_id: 'req-unknown-1' }) });
    expect(answer.status).toBe(404);
    expect(errorCode(answer)).toBe('unknown_platform');
    expect(seen.length).toBe(before);
    const { entry } = await h.host.request('journal.get', { requestId: 'req-unknown-1' });
    expect(entry).toMatchObject({ outcome: 'rejected', errorCode: 'unknown_platform', platform: 'nowhere', path: '/x' });
  });

  it.each([
    ['a header name that is no token', { 'x bad': '1' }, 'x bad'],
    ['a header value with a line break', { 'x-app': 'a\r\nInjected: 1' }, 'x-app'],
    ['a header the browser owns', { 'Sec-Fetch-Site': 'none' }, 'Sec-Fetch-Site'],
  ])('answers 400 bad_payload naming %s, and relays nothing', async (_what, headers, name) => {
    const before = seen.length;
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'POST', path: '/api/chat', headers, body: '{}' }) });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_payload');
    expect(JSON.parse(answer.body).error.details.issues).toEqual([{ path: `headers.${name}`, message: expect.stringContaining(JSON.stringify(name)) }]);
    expect(seen.length).toBe(before);
  });

  it('accepts the release platforms without asking the add-on (an absent tab is the add-on\'s no_tab)', async () => {
    failWith = new ConductorError('no_tab', 'no claude tab');
    try {
      await expect(h.client.relay({ platform: 'claude', method: 'GET', path: '/api' })).rejects.toMatchObject({ code: 'no_tab' });
    } finally {
      failWith = null;
    }
  });
});

describe('relaying while no add-on is connected (real host)', () => {
  let h: ApiHost;
  beforeAll(async () => {
    h = await startApiHost({}, { hello: false });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  it('answers 503 extension_unavailable and journals the request as rejected', async () => {
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/x?secret=1', request_id: 'req-offline-1' }) });
    expect(answer.status).toBe(503);
    expect(errorCode(answer)).toBe('extension_unavailable');
    const { entry } = await h.host.request('journal.get', { requestId: 'req-offline-1' });
    expect(entry).toMatchObject({ outcome: 'rejected', errorCode: 'extension_unavailable', path: '/x', admission: null });
  });

  it('answers GET /v1/browser with 503 extension_unavailable carrying the host status', async () => {
    const answer = await rawRequest({ port: h.port, path: '/v1/browser', headers: h.auth });
    expect(answer.status).toBe(503);
    const error = (JSON.parse(answer.body) as { error: { code: string; details: { host_status: { pid: number; extensionConnected: boolean } } } }).error;
    expect(error.code).toBe('extension_unavailable');
    expect(error.details.host_status).toMatchObject({ pid: h.host.pid, extensionConnected: false });
  });

  it('sends a request rejected that way afresh once the add-on is connected', async () => {
    await h.host.hello();
    const response = await h.client.relay({ platform: 'mock', method: 'GET', path: '/x', requestId: 'req-offline-1' });
    expect(response).toMatchObject({ request_id: 'req-offline-1', status: 200, replayed: false });
  });
});

describe('a relay in flight when the host shuts down (real host)', () => {
  for (const [how, stop] of [
    ['SIGTERM', (h: ApiHost) => h.host.kill('SIGTERM')],
    ['stdin closed by Firefox', (h: ApiHost) => h.host.closeStdin()],
  ] as const) {
    it(`answers the waiting caller 503 extension_unavailable (not a cut connection) on ${how}, and journals it interrupted`, async () => {
      const h: ApiHost = await startApiHost({
        'relay.request': (request) => {
          void h.host.request('journal.record', { entries: [journalRow(request, { outcome: 'admitted', finishedAt: null, httpStatus: null })] });
          return new Promise<never>(() => undefined);
        },
      });
      try {
        const answer = rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/hangs', request_id: 'req-at-shutdown' }) });
        await h.host.waitForEnvelope((env) => env.type === 'journal.record' && env.kind === 'response');
        stop(h);
        const settled = await answer.then((a) => ({ status: a.status, code: errorCode(a) }), (err: unknown) => ({ failed: String(err) }));
        expect(settled).toEqual({ status: 503, code: 'extension_unavailable' });
        expect(await h.host.exited).toEqual({ code: 0, signal: null });
        const again = startHost({ dataDir: h.host.dataDir });
        try {
          const { entry } = await again.request('journal.get', { requestId: 'req-at-shutdown' });
          expect(entry).toMatchObject({ outcome: 'interrupted', errorCode: 'extension_unavailable' });
        } finally {
          await again.dispose();
        }
      } finally {
        await h.host.dispose();
      }
    });
  }
});
