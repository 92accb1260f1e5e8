// Issue 11 item 1: whoever listens where the client looks must prove it is the user's host
// before the token is sent. The "attacker" here is a plain HTTP server on the port the client
// would use: it records every request it gets.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConductorClient } from './client.js';

const TOKEN = 'victims-token-0123456789-abcdefghij';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('the client never hands the token to an unproven server', () => {
  let dataDir: string;
  let seen: Seen[];
  let port: number;
  let close: () => Promise<void>;
  /** What the attacker answers to a proof request: by default the same bytes as anything else. */
  let answerProof: (url: URL) => Promise<{ status: number; body: string }>;

  beforeEach(async () => {
    seen = [];
    answerProof = async () => ({ status: 200, body: '{"proof":"AAAA"}' });
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (p: Buffer) => parts.push(p));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
        void answerProof(new URL(req.url ?? '/', 'http://x')).then(({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    close = async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
    dataDir = await mkdtemp(join(tmpdir(), 'cfx-victim-'));
    await writeFile(join(dataDir, 'api-token'), `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(join(dataDir, 'api-port'), `${port}\n`);
  });
  afterEach(async () => {
    await close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function leaked(): boolean {
    return seen.some((s) => JSON.stringify(s).includes(TOKEN));
  }

  it('a fake server on the port from api-port never receives the token, whatever it answers', async () => {
    const client = await ConductorClient.fromDataDir(dataDir);
    for (const answer of [
      { status: 200, body: '{"proof":"AAAA"}' },
      { status: 404, body: '{"error":{"code":"not_found","message":"no"}}' },
      { status: 200, body: 'not json' },
      { status: 401, body: '{"error":{"code":"unauthorized","message":"send the token"}}' },
    ]) {
      answerProof = async () => answer;
      await expect(client.browser()).rejects.toMatchObject({ code: 'host_unavailable', message: expect.stringContaining('did not prove') });
      await expect(client.relay({ platform: 'mock', method: 'POST', path: '/x', body: 'secret prompt' })).rejects.toMatchObject({ code: 'host_unavailable' });
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(leaked()).toBe(false);
    expect(seen.some((s) => s.body.includes('secret prompt'))).toBe(false);
  });

  it('a fake server that relays the challenge to the real host on another port still gets nothing', async () => {
    // The real host (here: a proof-answering server that knows the token) listens elsewhere;
    // the attacker forwards the client's challenge to it and passes the answer back.
    const { startApiServer } = await import('../native-host/src/api/server.js');
    const { FakeExtensionLink, MemoryJournal, MemoryLogger, fakeHostStatus } = await import('../test/api/fakes.js');
    const { readPolicyFile } = await import('../native-host/src/policy-file.js');
    const hostDir = await mkdtemp(join(tmpdir(), 'cfx-real-'));
    await writeFile(join(hostDir, 'api-token'), `${TOKEN}\n`, { mode: 0o600 });
    const real = await startApiServer({ dataDir: hostDir, port: 0, extension: new FakeExtensionLink(), journal: new MemoryJournal(), hostStatus: () => fakeHostStatus(hostDir), reloadPolicy: () => readPolicyFile(hostDir), log: new MemoryLogger(), now: () => 0 });
    try {
      answerProof = (url) =>
        new Promise((resolve, reject) => {
          const r = request({ host: '127.0.0.1', port: real.info.port!, path: `${url.pathname}${url.search}` }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (p: Buffer) => parts.push(p));
            res.on('end', () => resolve({ status: res.statusCode ?? 500, body: Buffer.concat(parts).toString('utf8') }));
          });
          r.on('error', reject);
          r.end();
        });
      const client = await ConductorClient.fromDataDir(dataDir);
      await expect(client.browser()).rejects.toMatchObject({ code: 'host_unavailable', message: expect.stringContaining('did not prove') });
      expect(seen.length).toBe(1);
      expect(leaked()).toBe(false);
    } finally {
      await real.close();
      await rm(hostDir, { recursive: true, force: true });
    }
  });

  it('trusts the data dir\'s socket only while nobody else can write the dir; else TCP with its proof', async () => {
    const squat = createServer();
    await new Promise<void>((resolve) => squat.listen(join(dataDir, 'api.sock'), resolve));
    try {
      await chmod(dataDir, 0o700);
      expect((await ConductorClient.fromDataDir(dataDir)).baseUrl).toBe(`unix:${join(dataDir, 'api.sock')}`);
      // Another user could have put that socket there: it is not used.
      await chmod(dataDir, 0o777);
      expect((await ConductorClient.fromDataDir(dataDir)).baseUrl).toBe(`http://127.0.0.1:${port}`);
    } finally {
      await new Promise((resolve) => squat.close(resolve));
    }
  });
});
