import { request } from 'node:http';
import { Readable } from 'node:stream';

/** Where the host's API is reached: its Unix socket in the data dir, or a loopback TCP port. */
export type HostAddress = { kind: 'socket'; path: string } | { kind: 'tcp'; hostname: string; port: number };

/** One HTTP request. */
export interface HttpCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/**
 * Sends one request over node:http (fetch cannot reach a Unix socket) and resolves with a
 * web Response once the head has arrived; the body streams. Rejects with node's own error
 * (code ECONNREFUSED, ENOENT, …; name AbortError when the signal fired).
 */
export function sendHttp(address: HostAddress, call: HttpCall): Promise<Response> {
  const target = address.kind === 'socket' ? { socketPath: address.path } : { host: address.hostname, port: address.port };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method: call.method, path: call.path, headers: call.headers, ...(call.signal === undefined ? {} : { signal: call.signal }) }, (res) => {
      const headers = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      const status = res.statusCode ?? 0;
      try {
        const body = status === 204 || status === 304 || call.method === 'HEAD' ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status, headers }));
      } catch (err) {
        // A status a Response cannot carry (1xx, 6xx…): no conductor-fx host answers that.
        res.destroy();
        reject(err);
      }
    });
    req.on('error', reject);
    req.end(call.body);
  });
}
