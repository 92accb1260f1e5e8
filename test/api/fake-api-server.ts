// A stand-in loopback API for client and CLI tests: answers each call with what the test scripts,
// and writes api-token / api-port into a temp data dir as the host does. It knows the token, so
// it answers the client's proof challenge as the host does (those calls are not in `calls`).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiProof } from '../../native-host/src/api/api-proof.js';
import { API_PROOF_PATH } from '../../shared/api.js';

export const FAKE_TOKEN = 'fake-token-for-client-tests-0123456789';

export interface SeenCall {
  method: string;
  url: string;
  authorization: string | undefined;
  origin: string | undefined;
  body: string;
}

export interface FakeApiServer {
  port: number;
  dataDir: string;
  calls: SeenCall[];
  /** Sets how the next calls are answered. */
  answer(handler: (call: SeenCall, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

/** Writes a JSON answer. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts).toString('utf8');
}

/** Starts the fake on a free loopback port with a data dir pointing at it. */
export async function startFakeApi(): Promise<FakeApiServer> {
  const calls: SeenCall[] = [];
  let handler: (call: SeenCall, res: ServerResponse) => void = (_call, res) => json(res, 404, { error: { code: 'not_found', message: 'no answer scripted' } });
  const server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === API_PROOF_PATH) return json(res, 200, { proof: apiProof(FAKE_TOKEN, req.socket.localPort ?? 0, url.searchParams.get('nonce') ?? '') });
      const call = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, origin: req.headers.origin, body };
      calls.push(call);
      handler(call, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const dataDir = await mkdtemp(join(tmpdir(), 'cfx-client-'));
  await writeFile(join(dataDir, 'api-token'), `${FAKE_TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(dataDir, 'api-port'), `${port}\n`);
  return {
    port,
    dataDir,
    calls,
    answer: (next) => {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
