import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The cookie name the mock's page sets; a relayed request proves it ran as the page when it carries it. */
export const MOCK_SESSION_COOKIE = 'session';

/** The chat API path of the mock; everything else but `/` is 404. */
export const MOCK_CHAT_PATH = '/api/chat';

/** How the mock answers one chat request. */
export type MockReply =
  | { kind: 'json'; body: unknown }
  /** A text/event-stream sent as one `data:` event per chunk, `gapMs` apart; `hang` keeps it open after the last chunk. */
  | { kind: 'stream'; chunks: string[]; gapMs: number; hang?: boolean }
  /** An error status; `retryAfterS` sets the Retry-After header. */
  | { kind: 'error'; status: number; retryAfterS?: number }
  /** A redirect (301, 302, 303, 307, 308) to `location`, absolute or relative. */
  | { kind: 'redirect'; status: number; location: string };

/** What the mock saw of one chat request (the headers a page proxy cannot forge). */
export interface RecordedRequest {
  method: string;
  path: string;
  cookie: string | null;
  origin: string | null;
  referer: string | null;
  body: string;
}

/** The answer when nothing is queued: a small JSON document. */
const DEFAULT_REPLY: MockReply = { kind: 'json', body: { reply: 'ok' } };

/**
 * A stand-in for an AI chat platform on 127.0.0.1: a page at `/` that sets a session cookie
 * (the content script runs in it), and a chat API whose answers tests script in advance.
 */
export class MockPlatform {
  /** Every chat request received, oldest first. */
  readonly requests: RecordedRequest[] = [];
  /** The session cookie value the page hands out; relayed requests must carry it. */
  readonly sessionId = randomBytes(8).toString('hex');
  private readonly queue: MockReply[] = [];
  private readonly streamTimers = new Set<NodeJS.Timeout>();
  private readonly server: Server = createServer((req, res) => this.handle(req, res));

  private constructor() {}

  /** Starts the mock on an ephemeral loopback port. */
  static async start(): Promise<MockPlatform> {
    const mock = new MockPlatform();
    await new Promise<void>((resolve, reject) => {
      mock.server.once('error', reject);
      mock.server.listen(0, '127.0.0.1', () => resolve());
    });
    return mock;
  }

  /** The page's origin, e.g. http://127.0.0.1:40123: what a relayed request's Origin header must be. */
  get origin(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The page URL to open in Firefox. */
  get pageUrl(): string {
    return `${this.origin}/`;
  }

  /** Queues answers for the next chat requests, in order; when the queue is empty the default JSON answer is used. */
  enqueue(...replies: MockReply[]): void {
    this.queue.push(...replies);
  }

  /** Stops listening and drops every open connection (hanging streams included). */
  async close(): Promise<void> {
    for (const timer of this.streamTimers) clearTimeout(timer);
    this.streamTimers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    if (req.method === 'GET' && path === '/') {
      this.servePage(res);
    } else if (path === MOCK_CHAT_PATH) {
      void this.serveChat(req, res, path);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  }

  private servePage(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      // HttpOnly: the page's own script cannot read it, yet its fetches carry it, exactly like a real login.
      'set-cookie': `${MOCK_SESSION_COOKIE}=${this.sessionId}; Path=/; HttpOnly; SameSite=Lax`,
    });
    res.end('<!doctype html><html><head><title>Mock chat platform</title></head><body><h1>Mock chat platform</h1></body></html>');
  }

  private async serveChat(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readBody(req);
    this.requests.push({
      method: req.method ?? '',
      path,
      cookie: req.headers.cookie ?? null,
      origin: req.headers.origin ?? null,
      referer: req.headers.referer ?? null,
      body,
    });
    const reply = this.queue.shift() ?? DEFAULT_REPLY;
    if (reply.kind === 'json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    } else if (reply.kind === 'error') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (reply.retryAfterS !== undefined) headers['retry-after'] = String(reply.retryAfterS);
      res.writeHead(reply.status, headers).end(JSON.stringify({ error: `mock status ${reply.status}` }));
    } else if (reply.kind === 'redirect') {
      res.writeHead(reply.status, { location: reply.location, 'content-type': 'text/plain' }).end('moved');
    } else {
      this.stream(res, reply.chunks, reply.gapMs, reply.hang === true);
    }
  }

  private stream(res: ServerResponse, chunks: string[], gapMs: number, hang: boolean): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // Flush the headers at once: the page proxy reports the status before the first chunk.
    res.flushHeaders();
    const sendFrom = (index: number): void => {
      const chunk = chunks[index];
      if (chunk === undefined) {
        if (!hang) res.end();
        return;
      }
      res.write(`data: ${chunk}\n\n`);
      const timer = setTimeout(() => {
        this.streamTimers.delete(timer);
        sendFrom(index + 1);
      }, gapMs);
      this.streamTimers.add(timer);
    };
    sendFrom(0);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
