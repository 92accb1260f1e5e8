import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { ADMISSION, FakeExtensionLink, MemoryJournal, MemoryLogger, fakeBrowserStatus, fakeHostStatus } from '../../../test/api/fakes.js';
import { errorCode, rawRequest } from '../../../test/api/http.js';
import type { ApiContext, ApiServer } from './context.js';
import { readPolicyFile } from '../policy-file.js';
import { startApiServer } from './server.js';

describe('startApiServer (fake add-on link, in-memory journal)', () => {
  let dataDir: string;
  let link: FakeExtensionLink;
  let journal: MemoryJournal;
  let server: ApiServer;
  let auth: { authorization: string };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cfx-api-'));
    link = new FakeExtensionLink().on('browser.status', () => fakeBrowserStatus());
    journal = new MemoryJournal();
    const ctx: ApiContext = { dataDir, port: 0, extension: link, journal, hostStatus: () => fakeHostStatus(dataDir), reloadPolicy: () => readPolicyFile(dataDir), log: new MemoryLogger(), now: () => 1_700_000_001_000 };
    server = await startApiServer(ctx);
    auth = { authorization: `Bearer ${(await readFile(join(dataDir, 'api-token'), 'utf8')).trim()}` };
  });
  afterEach(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const relay = (body: object) => rawRequest({ port: server.info.port!, method: 'POST', path: '/v1/browser/request', headers: auth, body: JSON.stringify(body) });

  it('listens on a free port, writes it to api-port, and removes the file on close', async () => {
    expect(server.info).toEqual({ listening: true, port: expect.any(Number), error: null });
    expect((await readFile(join(dataDir, 'api-port'), 'utf8')).trim()).toBe(String(server.info.port));
    await server.close();
    await expect(readFile(join(dataDir, 'api-port'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers a request target that is not a single-slash path with a typed 4xx, not a 500 (found by the API fuzzer)', async () => {
    for (const path of ['//', '////', '//x/v1/journal']) {
      const answer = await rawRequest({ port: server.info.port!, path, headers: auth });
      expect([answer.status, errorCode(answer)]).toEqual([400, 'bad_path']);
    }
    const ok = await rawRequest({ port: server.info.port!, path: '/v1/journal?limit=1', headers: auth });
    expect(ok.status).toBe(200);
  });

  it('reports a port in use instead of failing', async () => {
    const second = await startApiServer({ dataDir, port: server.info.port!, extension: link, journal, hostStatus: () => fakeHostStatus(dataDir), reloadPolicy: () => readPolicyFile(dataDir), log: new MemoryLogger(), now: Date.now });
    expect(second.info).toEqual({ listening: false, port: server.info.port, error: expect.stringContaining(`port ${server.info.port} is in use`) });
    await second.close();
  });

  it('journals an admitted relay as interrupted when the add-on goes away mid-flight', async () => {
    link.on('relay.request', (request) => {
      journal.record([{ requestId: request.requestId, platform: 'mock', clientId: 'default', method: 'GET', path: '/x', outcome: 'admitted', createdAt: 1, admittedAt: 1, finishedAt: null, httpStatus: null, errorCode: null, admission: ADMISSION }]);
      throw new ConductorError('extension_unavailable', 'the add-on disconnected before answering');
    });
    const answer = await relay({ platform: 'mock', method: 'GET', path: '/x', request_id: 'lost-1' });
    expect(answer.status).toBe(503);
    expect(journal.get('lost-1')).toMatchObject({ outcome: 'interrupted', errorCode: 'extension_unavailable', finishedAt: 1_700_000_001_000 });
    // And a repeat is refused, never re-sent.
    expect(errorCode(await relay({ platform: 'mock', method: 'GET', path: '/x', request_id: 'lost-1' }))).toBe('interrupted');
    expect(link.callsOf('relay.request')).toHaveLength(1);
  });

  it('journals a relay the add-on never admitted as rejected when the add-on goes away', async () => {
    link.on('relay.request', () => {
      throw new ConductorError('extension_unavailable', 'gone');
    });
    await relay({ platform: 'mock', method: 'GET', path: '/x', request_id: 'lost-2' });
    expect(journal.get('lost-2')).toMatchObject({ outcome: 'rejected', errorCode: 'extension_unavailable' });
  });

  it('learns platforms from the add-on once, then relays them without asking again', async () => {
    link.on('relay.request', (request) => ({ requestId: request.requestId, status: 200, headers: {}, body: 'ok', bodyLength: 2, chunked: false, admission: ADMISSION }));
    for (let i = 0; i < 3; i += 1) expect((await relay({ platform: 'mock', method: 'GET', path: '/x' })).status).toBe(200);
    expect(link.callsOf('browser.status')).toHaveLength(1);
  });

  it('answers a fault that is not a ConductorError as a secret-free 500', async () => {
    link.on('relay.request', () => {
      throw new TypeError('boom with cookie=abc');
    });
    const answer = await relay({ platform: 'mock', method: 'GET', path: '/x' });
    expect(answer.status).toBe(500);
    expect(errorCode(answer)).toBe('internal_error');
    expect(answer.body).not.toContain('cookie');
  });
});
