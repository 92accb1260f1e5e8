// The API's bounds (issue 11 item 7), each against the real server with small limits.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayResponse } from '../../../shared/relay.js';
import { ADMISSION, FakeExtensionLink, MemoryJournal, MemoryLogger, fakeBrowserStatus, fakeHostStatus } from '../../../test/api/fakes.js';
import { errorCode, rawRequest } from '../../../test/api/http.js';
import { readPolicyFile } from '../policy-file.js';
import { DEFAULT_API_LIMITS, type ApiLimits } from './api-limits.js';
import type { ApiServer } from './context.js';
import { startApiServer } from './server.js';

interface Rig {
  server: ApiServer;
  port: number;
  link: FakeExtensionLink;
  auth: { authorization: string };
  /** Answers the pending relay.request of a request id. */
  finish(requestId: string): void;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rig(limits: Partial<ApiLimits>): Promise<Rig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cfx-limits-'));
  const pending = new Map<string, (r: RelayResponse) => void>();
  const link = new FakeExtensionLink()
    .on('browser.status', () => fakeBrowserStatus())
    .on('relay.cancel', () => ({ cancelled: true }))
    .on('relay.request', (req) => new Promise<RelayResponse>((resolve) => pending.set(req.requestId, resolve)));
  const server = await startApiServer({ dataDir, port: 0, limits, extension: link, journal: new MemoryJournal(), hostStatus: () => fakeHostStatus(dataDir), reloadPolicy: () => readPolicyFile(dataDir), log: new MemoryLogger(), now: Date.now });
  cleanups.push(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim();
  const finish = (requestId: string) =>
    pending.get(requestId)?.({ requestId, status: 200, headers: {}, body: null, bodyLength: 0, chunked: true, admission: ADMISSION });
  return { server, port: server.info.port!, link, auth: { authorization: `Bearer ${token}` }, finish };
}

/** A raw connection and what it received; `closed` settles when the server closes it. */
function rawSocket(port: number): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (part: Buffer) => (text += part.toString('utf8')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  cleanups.push(async () => void socket.destroy());
  return { socket, received: () => text, closed };
}

/** Opens a streamed relay and resolves once its answer ends; the head arrives when the first event does. */
function openStream(port: number, auth: { authorization: string }, requestId: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/browser/request', headers: auth }, (res) => {
      let body = '';
      res.on('data', (part: Buffer) => (body += part.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end(JSON.stringify({ platform: 'mock', method: 'GET', path: '/x', stream: true, request_id: requestId }));
  });
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i += 1) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('loopback API bounds', () => {
  it('closes connections past maxConnections at once, unanswered, and serves again once one is gone', async () => {
    const { port, auth } = await rig({ maxConnections: 3 });
    const held = [rawSocket(port), rawSocket(port), rawSocket(port)];
    await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))));
    // Give the server the time to accept the three.
    await new Promise((r) => setTimeout(r, 50));
    const extra = rawSocket(port);
    await extra.closed;
    expect(extra.received()).toBe('');
    expect(held.every(({ socket }) => !socket.destroyed && socket.readyState === 'open')).toBe(true);
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await new Promise((r) => setTimeout(r, 50));
    expect((await rawRequest({ port, path: '/v1/journal', headers: auth })).status).toBe(200);
  });

  it('answers 408 and closes a connection that sends no request, or only part of its headers, within headersTimeoutMs', async () => {
    const { port } = await rig({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const silent = rawSocket(port);
    const partial = rawSocket(port);
    partial.socket.write('GET /v1/journal HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await Promise.all([silent.closed, partial.closed]);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(partial.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers 408 to a request whose body does not arrive within requestTimeoutMs', async () => {
    const { port, auth } = await rig({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const slow = rawSocket(port);
    slow.socket.write(`POST /v1/system/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.authorization}\r\nContent-Length: 100\r\n\r\n{"reason":`);
    await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a kept-alive connection idle for keepAliveTimeoutMs', async () => {
    const { port, auth } = await rig({ keepAliveTimeoutMs: 200 });
    const idle = rawSocket(port);
    idle.socket.write(`GET /v1/journal HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.authorization}\r\nConnection: keep-alive\r\n\r\n`);
    await idle.closed;
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('answers 503 api_busy to an event stream past maxStreams, and takes one again once a stream ended', async () => {
    const { port, auth, link, finish } = await rig({ maxStreams: 2 });
    const first = openStream(port, auth, 's-1');
    const second = openStream(port, auth, 's-2');
    await until('both relays dispatched', () => link.callsOf('relay.request').length === 2);
    const refused = await rawRequest({ port, method: 'POST', path: '/v1/browser/request', headers: auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/x', stream: true, request_id: 's-3' }) });
    expect(refused.status).toBe(503);
    expect(errorCode(refused)).toBe('api_busy');
    expect(link.callsOf('relay.request')).toHaveLength(2);
    finish('s-1');
    expect((await first).body).toContain('event: stream_end');
    const third = openStream(port, auth, 's-4');
    await until('the next stream dispatched', () => link.callsOf('relay.request').length === 3);
    finish('s-2');
    finish('s-4');
    expect((await second).status).toBe(200);
    expect((await third).body).toContain('event: stream_end');
  });

  it('answers 503 api_busy to a late joiner once the stream passed joinKeepBytes; the first caller gets it all', async () => {
    const { port, auth, link, finish } = await rig({ joinKeepBytes: 8 });
    const first = openStream(port, auth, 'j-1');
    await until('the relay dispatched', () => link.callsOf('relay.request').length === 1);
    link.emitChunk({ requestId: 'j-1', seq: 0, data: '0123456789' });
    const late = await rawRequest({ port, method: 'POST', path: '/v1/browser/request', headers: auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/x', stream: true, request_id: 'j-1' }) });
    expect(late.status).toBe(503);
    expect(errorCode(late)).toBe('api_busy');
    finish('j-1');
    const whole = await first;
    expect(whole.body).toContain('0123456789');
    expect(whole.body).toContain('event: stream_end');
    expect(link.callsOf('relay.request')).toHaveLength(1);
  });

  it('ships with the bounds the README states', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Limits'), readme.indexOf('### Routes'));
    for (const [name, value] of Object.entries(DEFAULT_API_LIMITS)) expect(section, name).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|\\s*${value}\\s*\\|`));
  });
});
