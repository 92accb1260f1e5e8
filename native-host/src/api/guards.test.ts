import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/api/fakes.js';
import { checkLocalCaller, readBody, readJsonBody } from './guards.js';

function incoming(parts: string[], headers: Record<string, string> = {}): IncomingMessage {
  return Object.assign(Readable.from(parts.map((p) => Buffer.from(p))), { headers }) as unknown as IncomingMessage;
}

describe('checkLocalCaller', () => {
  it('lets loopback Host names through, with or without a port', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:7311', 'localhost:7311', 'LOCALHOST', '[::1]:7311']) {
      expect(thrownCode(() => checkLocalCaller({ host })), host).toBeNull();
    }
  });

  it('refuses other Host names (DNS rebinding) and a missing Host', () => {
    for (const host of ['evil.example:7311', '127.0.0.1.evil.example', 'localhost.evil.example', '10.0.0.2:7311', undefined]) {
      expect(thrownCode(() => checkLocalCaller({ host })), String(host)).toBe('forbidden_origin');
    }
  });

  it('refuses any Origin header, even a loopback one', () => {
    expect(thrownCode(() => checkLocalCaller({ host: '127.0.0.1:7311', origin: 'https://evil.example' }))).toBe('forbidden_origin');
    expect(thrownCode(() => checkLocalCaller({ host: '127.0.0.1:7311', origin: 'http://127.0.0.1:7311' }))).toBe('forbidden_origin');
  });
});

describe('readBody', () => {
  it('joins the parts of a body under the cap', async () => {
    expect(await readBody(incoming(['ab', 'cd']), 4)).toBe('abcd');
  });

  it('fails with too_large when the sent body passes the cap', async () => {
    await expect(readBody(incoming(['abc', 'de']), 4)).rejects.toMatchObject({ code: 'too_large' });
  });

  it('fails with too_large at once when the declared length passes the cap', async () => {
    await expect(readBody(incoming([], { 'content-length': '5' }), 4)).rejects.toMatchObject({ code: 'too_large' });
  });

  it('parses JSON, reads an empty body as {} and reports bad JSON as bad_json', async () => {
    expect(await readJsonBody(incoming(['{"a":1}']), 100)).toEqual({ a: 1 });
    expect(await readJsonBody(incoming([]), 100)).toEqual({});
    await expect(readJsonBody(incoming(['{nope']), 100)).rejects.toMatchObject({ code: 'bad_json' });
  });
});
