import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSseEvent } from '../shared/sse.js';
import { ADMISSION, fakeBrowserStatus, fakeHostStatus } from '../test/api/fakes.js';
import { FAKE_TOKEN, type FakeApiServer, json, startFakeApi } from '../test/api/fake-api-server.js';
import { ConductorClient, HOST_UNAVAILABLE_MESSAGE } from './client.js';

describe('ConductorClient', () => {
  let api: FakeApiServer;
  let client: ConductorClient;
  beforeEach(async () => {
    api = await startFakeApi();
    client = await ConductorClient.fromDataDir(api.dataDir);
  });
  afterEach(async () => {
    await api.close();
  });

  it('finds the host from the data dir and sends the bearer token, never an Origin', async () => {
    api.answer((_call, res) => json(res, 200, { ...fakeBrowserStatus(), hostStatus: fakeHostStatus(api.dataDir) }));
    expect(client.baseUrl).toBe(`http://127.0.0.1:${api.port}`);
    expect((await client.browser()).hostStatus.dataDir).toBe(api.dataDir);
    expect(api.calls[0]).toMatchObject({ method: 'GET', url: '/v1/browser', authorization: `Bearer ${FAKE_TOKEN}`, origin: undefined });
  });

  it('sends relay input in the wire format and validates the answer', async () => {
    api.answer((_call, res) => json(res, 200, { request_id: 'r-1', status: 200, headers: {}, body: 'ok', admission: ADMISSION, replayed: false }));
    const response = await client.relay({ platform: 'mock', clientId: 'bot', method: 'POST', path: '/x', body: 'b', requestId: 'r-1', maxWaitMs: 10, headers: { a: 'b' } });
    expect(response.body).toBe('ok');
    expect(JSON.parse(api.calls[0]!.body)).toEqual({ platform: 'mock', client_id: 'bot', method: 'POST', path: '/x', body: 'b', request_id: 'r-1', max_wait_ms: 10, headers: { a: 'b' }, stream: false });
  });

  it('rebuilds the host\'s error body as a ConductorError with its details', async () => {
    api.answer((_call, res) => json(res, 429, { error: { code: 'rate_limited', message: 'full', details: { retry_after_ms: 3_000 }, retry_after_ms: 3_000 } }, { 'retry-after': '3' }));
    await expect(client.relay({ platform: 'mock', method: 'GET', path: '/x' })).rejects.toMatchObject({ name: 'ConductorError', code: 'rate_limited', details: { retry_after_ms: 3_000 } });
  });

  it('refuses an answer that does not match the schema instead of passing it on', async () => {
    api.answer((_call, res) => json(res, 200, { request_id: 'r-1', status: 'fine' }));
    await expect(client.relay({ platform: 'mock', method: 'GET', path: '/x' })).rejects.toMatchObject({ code: 'internal_error', message: expect.stringContaining('conductor-fx host') });
    api.answer((_call, res) => json(res, 500, 'not an error body'));
    await expect(client.resume()).rejects.toMatchObject({ code: 'internal_error' });
  });

  it('streams events to the callback in order and rejects a stream that breaks off without an end', async () => {
    api.answer((_call, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(encodeSseEvent('stream_event', { seq: 0, data: 'a' }, 0));
      res.end(encodeSseEvent('stream_event', { seq: 1, data: 'bc' }, 1));
    });
    const seen: string[] = [];
    const failure = await client.relayStream({ platform: 'mock', method: 'GET', path: '/x' }, (c) => seen.push(c.data)).catch((err: unknown) => err);
    expect(seen).toEqual(['a', 'bc']);
    expect(failure).toMatchObject({ code: 'stream_error', details: { partial: { receivedChunks: 2, receivedBytes: 3, lastSeq: 1, status: null } } });
    expect(JSON.parse(api.calls[0]!.body)).toMatchObject({ stream: true });
  });

  it('journal() passes limit and platform and returns the entries', async () => {
    api.answer((_call, res) => json(res, 200, { entries: [] }));
    expect(await client.journal({ limit: 7, platform: 'claude' })).toEqual([]);
    expect(api.calls[0]!.url).toBe('/v1/journal?limit=7&platform=claude');
  });
});

describe('ConductorClient without a host', () => {
  it('answers host_unavailable with the install-host hint when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const client = new ConductorClient({ baseUrl: `http://127.0.0.1:${port}`, token: 't' });
    await expect(client.browser()).rejects.toMatchObject({ code: 'host_unavailable', message: expect.stringContaining(HOST_UNAVAILABLE_MESSAGE) });
  });

  it('answers host_unavailable when the data dir holds no token, and falls back to the env port without api-port', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfx-client-'));
    try {
      await expect(ConductorClient.fromDataDir(dir)).rejects.toMatchObject({ code: 'host_unavailable', message: expect.stringContaining('no api-token') });
      await writeFile(join(dir, 'api-token'), 'tok\n');
      process.env['CONDUCTOR_FX_API_PORT'] = '7399';
      expect((await ConductorClient.fromDataDir(dir)).baseUrl).toBe('http://127.0.0.1:7399');
      delete process.env['CONDUCTOR_FX_API_PORT'];
      expect((await ConductorClient.fromDataDir(dir)).baseUrl).toBe('http://127.0.0.1:7311');
    } finally {
      delete process.env['CONDUCTOR_FX_API_PORT'];
      await rm(dir, { recursive: true, force: true });
    }
  });
});
