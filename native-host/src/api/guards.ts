import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ConductorError } from '../../../shared/errors.js';

/** Host names a local program uses to reach 127.0.0.1; anything else may be a DNS-rebinding page. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The host name of a Host header without its port, lowercased. */
function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

/**
 * Refuses requests a web page could make: a Host that is not a loopback name (DNS rebinding)
 * or any Origin header (browsers send one on cross-origin and POST requests; local programs do not).
 */
export function checkLocalCaller(headers: IncomingHttpHeaders): void {
  if (headers.host === undefined || !LOOPBACK_HOSTS.has(hostName(headers.host))) {
    throw new ConductorError('forbidden_origin', 'the Host header must be a loopback name (127.0.0.1, localhost, [::1])');
  }
  if (headers.origin !== undefined) {
    throw new ConductorError('forbidden_origin', 'requests carrying an Origin header (from a web page) are refused');
  }
}

/**
 * Reads a request body up to `capBytes`; a larger one (declared or sent) fails with too_large.
 * The rest of a refused body is read and dropped, so the caller receives the 413 instead of a
 * connection reset in the middle of its upload.
 */
export function readBody(req: IncomingMessage, capBytes: number): Promise<string> {
  const tooLarge = () => new ConductorError('too_large', `the request body is over the API cap of ${capBytes} bytes`, { cap_bytes: capBytes });
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > capBytes) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      if (size > capBytes) return;
      size += part.length;
      if (size > capBytes) {
        parts.length = 0;
        reject(tooLarge());
      } else {
        parts.push(part);
      }
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** Parses a JSON body; invalid JSON is a bad_json error. An empty body reads as `{}`. */
export async function readJsonBody(req: IncomingMessage, capBytes: number): Promise<unknown> {
  const text = await readBody(req, capBytes);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConductorError('bad_json', 'the request body is not valid JSON');
  }
}
