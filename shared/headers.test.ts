import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiRelayRequestSchema } from './api.js';
import { ProxyFetchSchema } from './extension-messages.js';
import { requestHeaderProblem } from './headers.js';
import { RelayRequestSchema } from './relay.js';

describe('requestHeaderProblem', () => {
  it('takes ordinary names and values, an empty value, obs-text and inner spaces', () => {
    for (const [name, value] of [
      ['content-type', 'application/json'],
      ['Accept', 'text/event-stream'],
      ['X-Weird!#$%&\'*+-.^_`|~9', 'a b\tc'],
      ['x-empty', ''],
      ['x-latin1', 'caf\u00e9'],
      ['authorization', 'Bearer abc.def'],
      ['x-http-method-override', 'PATCH'],
    ]) {
      expect(requestHeaderProblem(name as string, value as string), name).toBeNull();
    }
  });

  it.each(['', 'bad name', 'x:y', 'x-\u00e9', 'x\r\ny', '(x)', 'x"'])('refuses the name %j (not a token)', (name) => {
    expect(requestHeaderProblem(name, 'v')).toMatch(/not a valid header name/);
  });

  it.each(['line\r\nInjected: 1', 'nul\u0000', 'bell\u0007', ' leading', 'trailing\t', 'euro \u20ac', 'del\u007f'])('refuses the value %j', (value) => {
    expect(requestHeaderProblem('x-app', value)).toMatch(/invalid value/);
  });

  it.each(['Cookie', 'HOST', 'origin', 'Referer', 'content-length', 'Connection', 'Accept-Encoding', 'te', 'Set-Cookie', 'Sec-Fetch-Site', 'Proxy-Authorization', 'sec-ch-ua'])(
    'refuses the forbidden name %s whatever its case',
    (name) => {
      expect(requestHeaderProblem(name, 'x')).toMatch(/may not be set/);
    },
  );

  it('refuses a method override naming a forbidden method', () => {
    expect(requestHeaderProblem('X-HTTP-Method-Override', 'GET, trace')).toMatch(/CONNECT, TRACE or TRACK/);
    expect(requestHeaderProblem('x-method-override', 'CONNECT')).toMatch(/CONNECT, TRACE or TRACK/);
  });

  it('never quotes the value, which may be a secret', () => {
    expect(requestHeaderProblem('authorization', 'Bearer s3cret\n')).not.toContain('s3cret');
  });

  it('accepts only what fetch itself accepts (Headers throws on none of it)', () => {
    const anyText = fc.string({ unit: 'binary', maxLength: 12 });
    const tokenish = fc.string({ unit: fc.constantFrom(...'aZ9-_.!~ :\t\r\n\u00e9\u0000'), minLength: 0, maxLength: 8 });
    fc.assert(
      fc.property(fc.oneof(anyText, tokenish), fc.oneof(anyText, tokenish), (name, value) => {
        if (requestHeaderProblem(name, value) === null) expect(() => new Headers([[name, value]])).not.toThrow();
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('request headers at every boundary', () => {
  const bad = { 'content-type': 'text/plain', 'X-Bad\u0000': 'y' };

  it('the API refuses a bad header, naming it', () => {
    const api = ApiRelayRequestSchema.safeParse({ platform: 'claude', method: 'POST', path: '/api/x', headers: bad, body: '' });
    expect(api.success).toBe(false);
    expect(api.error?.issues.map((i) => [i.path, i.message])).toEqual([[['headers', 'X-Bad\u0000'], 'header "X-Bad\\u0000" is not a valid header name (RFC 9110 token)']]);
  });

  it('the native port refuses it too, and so does the page proxy port', () => {
    const port = RelayRequestSchema.safeParse({ requestId: 'r1', platform: 'claude', clientId: 'agent', method: 'POST', path: '/api/x', headers: { Cookie: 'a=b' }, body: '' });
    expect(port.error?.issues.map((i) => i.path)).toEqual([['headers', 'Cookie']]);
    const page = ProxyFetchSchema.safeParse({ type: 'proxy.fetch', requestId: 'r1', method: 'POST', path: '/x', headers: { 'x-a': 'v\n' }, body: null, stream: false, idleTimeoutMs: 1 });
    expect(page.error?.issues.map((i) => i.path)).toEqual([['headers', 'x-a']]);
  });
});
