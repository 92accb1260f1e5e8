// Raw loopback HTTP for API tests: node:http, so a test can send any Host, Origin or body.
import { request } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequest {
  /** The TCP port, or `socketPath` (as `curl --unix-socket` does). */
  port?: number;
  socketPath?: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Sends one request and collects the whole answer. */
export function rawRequest(req: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const target = req.socketPath === undefined ? { host: '127.0.0.1', port: req.port } : { socketPath: req.socketPath };
    const r = request({ ...target, method: req.method ?? 'GET', path: req.path, headers: req.headers ?? {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

/** The error code of a JSON error answer. */
export function errorCode(answer: RawAnswer): string | undefined {
  return (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
}
