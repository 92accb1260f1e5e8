// The loopback API's front door, against the real host: token, Host/Origin refusal, body cap,
// schema errors, unknown routes, and the files it writes into the data dir.
import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConductorClient } from '../../client/client.js';
import { isValidApiProof } from '../../native-host/src/api/api-proof.js';
import { ensureHostBuilt, startHost } from '../helpers/host-process.js';
import { type ApiHost, startApiHost } from './api-host.js';
import { errorCode, rawRequest } from './http.js';

describe('loopback API access (real host)', () => {
  let h: ApiHost;
  const relayCalls: unknown[] = [];
  beforeAll(async () => {
    h = await startApiHost({
      'relay.request': (request) => {
        relayCalls.push(request);
        throw new Error('a refused request must never reach the add-on');
      },
    });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  const relayBody = JSON.stringify({ platform: 'mock', method: 'GET', path: '/x' });

  it('writes the token with mode 0600 and the bound port into the data dir', async () => {
    expect((await stat(join(h.host.dataDir, 'api-token'))).mode & 0o777).toBe(0o600);
    expect(h.token.length).toBeGreaterThanOrEqual(32);
    expect((await readFile(join(h.host.dataDir, 'api-port'), 'utf8')).trim()).toBe(String(h.port));
  });

  it('answers 401 unauthorized without the token or with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${h.token}` }] as Record<string, string>[]) {
      const answer = await rawRequest({ port: h.port, path: '/v1/browser', headers });
      expect(answer.status).toBe(401);
      expect(errorCode(answer)).toBe('unauthorized');
      expect(answer.body).not.toContain(h.token);
    }
  });

  it('answers 403 forbidden_origin to a non-loopback Host, even with the token (DNS rebinding)', async () => {
    const answer = await rawRequest({ port: h.port, path: '/v1/browser', headers: { ...h.auth, host: `rebind.example:${h.port}` } });
    expect(answer.status).toBe(403);
    expect(errorCode(answer)).toBe('forbidden_origin');
  });

  it('answers 403 forbidden_origin to a request carrying a browser Origin, and relays nothing', async () => {
    const answer = await rawRequest({
      port: h.port,
      method: 'POST',
      path: '/v1/browser/request',
      headers: { ...h.auth, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: relayBody,
    });
    expect(answer.status).toBe(403);
    expect(errorCode(answer)).toBe('forbidden_origin');
    expect(relayCalls).toEqual([]);
  });

  it('accepts localhost as the Host name', async () => {
    const answer = await rawRequest({ port: h.port, path: '/v1/journal', headers: { ...h.auth, host: `localhost:${h.port}` } });
    expect(answer.status).toBe(200);
  });

  it('answers 404 not_found to an unknown route or method', async () => {
    for (const [method, path] of [['GET', '/v1/nothing'], ['DELETE', '/v1/browser'], ['GET', '/v1/browser/request']]) {
      const answer = await rawRequest({ port: h.port, method, path: path!, headers: h.auth });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(errorCode(answer)).toBe('not_found');
    }
  });

  it('answers 413 too_large to a body over the cap', async () => {
    const big = JSON.stringify({ platform: 'mock', method: 'POST', path: '/x', body: 'x'.repeat(11 * 1024 * 1024) });
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: { ...h.auth, 'content-type': 'application/json' }, body: big });
    expect(answer.status).toBe(413);
    expect(errorCode(answer)).toBe('too_large');
    expect(relayCalls).toEqual([]);
  });

  it('answers 400 bad_json to a body that is not JSON', async () => {
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body: '{"platform":' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_json');
  });

  it('answers 400 bad_payload naming every failing field', async () => {
    const body = JSON.stringify({ platform: 'Not A Platform', method: 'FETCH', path: 'https://other.example/x', headers: { Cookie: 'a=b' }, extra: 1 });
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: h.auth, body });
    expect(answer.status).toBe(400);
    const error = (JSON.parse(answer.body) as { error: { code: string; details: { issues: { path: string }[] } } }).error;
    expect(error.code).toBe('bad_payload');
    expect(error.details.issues.map((i) => i.path).sort()).toEqual(['', 'headers.Cookie', 'method', 'path', 'platform']);
    expect(relayCalls).toEqual([]);
  });

  it('answers 400 to a bad query and a malformed reset target', async () => {
    const journal = await rawRequest({ port: h.port, path: '/v1/journal?limit=0', headers: h.auth });
    expect(journal.status).toBe(400);
    expect(errorCode(journal)).toBe('bad_payload');
    const reset = await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/targets/Bad%20Platform/x/reset', headers: h.auth });
    expect(reset.status).toBe(400);
    expect(errorCode(reset)).toBe('invalid_target');
  });

  it('listens on <data dir>/api.sock, owned by the user, with the same token rule (curl --unix-socket)', async () => {
    const socketPath = join(h.host.dataDir, 'api.sock');
    const socket = await lstat(socketPath);
    expect(socket.isSocket()).toBe(true);
    expect(socket.uid).toBe(process.getuid!());
    expect((await rawRequest({ socketPath, path: '/v1/journal', headers: { host: 'localhost' } })).status).toBe(401);
    const answer = await rawRequest({ socketPath, path: '/v1/journal', headers: { ...h.auth, host: 'localhost' } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ entries: expect.any(Array) });
  });

  it('the client from the data dir uses the socket by default; over TCP it checks the proof first', async () => {
    const client = await ConductorClient.fromDataDir(h.host.dataDir);
    expect(client.baseUrl).toBe(`unix:${join(h.host.dataDir, 'api.sock')}`);
    expect((await client.browser()).hostStatus.dataDir).toBe(h.host.dataDir);
    expect((await h.client.browser()).hostStatus.dataDir).toBe(h.host.dataDir);
    expect(h.client.baseUrl).toBe(`http://127.0.0.1:${h.port}`);
  });

  it('answers the proof call without the token, bound to its port, and refuses a malformed nonce', async () => {
    const nonce = randomBytes(32).toString('base64url');
    const answer = await rawRequest({ port: h.port, path: `/v1/auth/proof?nonce=${nonce}` });
    expect(answer.status).toBe(200);
    const { proof } = JSON.parse(answer.body) as { proof: string };
    expect(isValidApiProof(proof, h.token, h.port, nonce)).toBe(true);
    expect(isValidApiProof(proof, h.token, h.port + 1, nonce)).toBe(false);
    expect(answer.body).not.toContain(h.token);
    for (const bad of ['', '?nonce=short', `?nonce=${nonce}x`]) {
      const refused = await rawRequest({ port: h.port, path: `/v1/auth/proof${bad}` });
      expect(refused.status, bad).toBe(400);
      expect(errorCode(refused)).toBe('bad_payload');
    }
    const rebind = await rawRequest({ port: h.port, path: `/v1/auth/proof?nonce=${nonce}`, headers: { host: 'rebind.example' } });
    expect(rebind.status).toBe(403);
  });

  it('never writes the token, the body or the headers it was sent to its log', async () => {
    await rawRequest({ port: h.port, method: 'POST', path: '/v1/browser/request', headers: { ...h.auth, 'x-secret-header': 'hdr-s3cret' }, body: '{"platform":"mock","body":"body-s3cret"' });
    const log = h.host.stderr();
    expect(log).not.toContain(h.token);
    expect(log).not.toContain('s3cret');
  });
});

describe('loopback API port taken (real host)', () => {
  it('reports the port in use and keeps serving the add-on', async () => {
    await ensureHostBuilt();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    const host = startHost({ env: { CONDUCTOR_FX_API_PORT: String(port) } });
    try {
      const hello = await host.hello();
      expect(hello.api).toEqual({ listening: false, port, error: expect.stringMatching(new RegExp(`^port ${port} is in use`)) });
      expect(await host.request('ping', {})).toMatchObject({ schemaVersion: expect.any(Number) });
      expect((await host.request('status.get', {})).api.listening).toBe(false);
    } finally {
      await host.dispose();
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

describe('a data dir the host creates (real host)', () => {
  it('is private to the user (0700), so the journal, messages and log in it are not readable by others', async () => {
    await ensureHostBuilt();
    const parent = await mkdtemp(join(tmpdir(), 'cfx-fresh-'));
    const dataDir = join(parent, 'conductor-fx');
    const host = startHost({ dataDir });
    try {
      await host.hello();
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    } finally {
      await host.dispose();
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe('an existing data dir (real host)', () => {
  it('is made private whoever created it: the dir 0700, every file in it 0600, the ones the host writes too', async () => {
    await ensureHostBuilt();
    const dataDir = await mkdtemp(join(tmpdir(), 'cfx-existing-'));
    await chmod(dataDir, 0o755);
    for (const name of ['host.log', 'policy.json']) await writeFile(join(dataDir, name), name === 'policy.json' ? '{}' : '', { mode: 0o644 });
    const host = startHost({ dataDir });
    try {
      await host.hello();
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      const names = await readdir(dataDir);
      expect(names).toEqual(expect.arrayContaining(['artifact.db', 'host.lock', 'host.log', 'api-token', 'api-port', 'policy.json']));
      for (const name of names) {
        const entry = await lstat(join(dataDir, name));
        if (entry.isSocket()) expect(entry.mode & 0o077, name).toBe(0);
        else expect(entry.mode & 0o777, name).toBe(0o600);
      }
    } finally {
      await host.dispose();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  // Only root can give a dir to another user; the same rule is unit-tested with an injected uid in data-dir.test.ts.
  it.skipIf(process.getuid?.() !== 0)('that belongs to another user is refused with the reason, and the host writes nothing into it', async () => {
    await ensureHostBuilt();
    const dataDir = await mkdtemp(join(tmpdir(), 'cfx-foreign-'));
    await chmod(dataDir, 0o777);
    await chown(dataDir, 65_534, 65_534);
    const host = startHost({ dataDir });
    try {
      await expect(host.hello()).rejects.toMatchObject({ code: 'data_dir_not_private', message: expect.stringContaining('belongs to uid 65534') });
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await host.dispose();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
