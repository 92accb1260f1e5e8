// Check 4, API fuzzing: generated HTTP requests against every route of the real host's loopback
// API, with a stand-in add-on on its stdio: bad JSON, wrong types, huge headers, bad header
// names, slow bodies, connections dropped mid-body and mid-SSE. Counted: crashes, 5xx answers
// other than the documented ones, answers that are not a typed error; then the host must still serve.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { ERROR_TABLE, ErrorCodeSchema } from '../../shared/errors.js';
import type { RelayRequest, RelayResponse } from '../../shared/relay.js';
import { echoResponse, startApiHost, type ApiHost } from '../../test/api/api-host.js';
import { ADMISSION } from '../../test/api/fakes.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';
import { hostLog } from './host-log.js';

/** How long one exchange may take before it counts as a hang (slow bodies take up to ~1 s by design). */
const ANSWER_TIMEOUT_MS = 15_000;
/** Exchanges in flight at once. */
const CONCURRENCY = 8;

/** One generated exchange: bytes to send (in parts, with pauses) and whether to drop the connection early. */
export interface Exchange {
  kind: string;
  parts: Buffer[];
  pauseMs: number;
  /** Drop the connection after sending, without reading the answer (mid-body or mid-SSE). */
  drop: 'no' | 'after-send' | 'after-first-bytes';
}

export interface Tally {
  requests: number;
  answered: number;
  dropped: number;
  crashes: number;
  hangs: number;
  undocumented5xx: number;
  untypedErrors: number;
  /** 400/431 answers from Node's HTTP parser itself (bad header names, huge headers): no JSON body by design. */
  parserRejections: number;
}

export const apiFuzzCheck: ProofCheck = {
  name: 'api fuzzing',
  async run(ctx: ProofContext): Promise<ProofResult> {
    const count = ctx.full ? 20_000 : 2_000;
    const seed = Date.now() >>> 0;
    const h = await startApiHost({ 'relay.request': (request) => relay(h, request) });
    const tally: Tally = { requests: 0, answered: 0, dropped: 0, crashes: 0, hangs: 0, undocumented5xx: 0, untypedErrors: 0, parserRejections: 0 };
    const findings: string[] = [];
    let exited = false;
    void h.host.exited.then(() => (exited = true));
    try {
      const exchanges = fc.sample(exchange(h.token), { numRuns: count, seed });
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < exchanges.length && !exited) {
          const ex = exchanges[next++] as Exchange;
          tally.requests += 1;
          const answer = await send(h.port, ex);
          classify(ex, answer, tally, findings);
          if (tally.requests % 2_000 === 0) ctx.log(`${tally.requests}/${count} requests`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const stillServes = !exited && (await stillServing(h));
      if (exited) tally.crashes += 1;
      if (hostLog(h.host.dataDir).includes('uncaught error')) tally.crashes += 1;
      const ok = stillServes && tally.crashes + tally.hangs + tally.undocumented5xx + tally.untypedErrors === 0;
      return {
        ok,
        line: `api fuzzing: ${tally.requests} requests, ${tally.crashes} crashes, ${tally.hangs} hangs, ${tally.undocumented5xx} undocumented 5xx, ${tally.untypedErrors} untyped errors, host ${stillServes ? 'still serves' : 'NO LONGER SERVES'}`,
        figures: { ...tally, stillServes, seed, ...(findings.length > 0 ? { findings: findings.slice(0, 5).join(' | ') } : {}) },
      };
    } finally {
      await h.host.dispose();
    }
  },
};

/** The stand-in add-on's relay: streams a few chunks (slowly, so callers can leave mid-stream) or echoes. */
async function relay(h: ApiHost, request: RelayRequest): Promise<RelayResponse> {
  if (!request.stream) return echoResponse(request);
  for (let seq = 0; seq < 3; seq++) {
    h.host.emit('relay.chunk', { requestId: request.requestId, seq, data: `chunk ${seq};` });
    await sleep(20);
  }
  return { requestId: request.requestId, status: 200, headers: { 'content-type': 'text/event-stream' }, body: null, bodyLength: 24, chunked: true, admission: ADMISSION };
}

export interface Answer {
  /** The raw bytes received; empty when the server closed without answering. */
  raw: string;
  timedOut: boolean;
}

/** Sends one exchange over a fresh TCP connection and reads until the server closes it (Connection: close). */
function send(port: number, ex: Exchange): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ raw: Buffer.concat(received).toString('latin1'), timedOut });
    };
    const timer = setTimeout(() => finish(true), ANSWER_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (ex.drop === 'after-first-bytes') finish(false);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', async () => {
      for (const [index, part] of ex.parts.entries()) {
        if (settled) return;
        if (index > 0 && ex.pauseMs > 0) await sleep(ex.pauseMs);
        socket.write(part);
      }
      if (ex.drop === 'after-send') finish(false);
    });
  });
}

export function classify(ex: Exchange, answer: Answer, tally: Tally, findings: string[]): void {
  if (answer.timedOut) {
    tally.hangs += 1;
    findings.push(`hang on ${ex.kind}`);
    return;
  }
  if (ex.drop !== 'no') {
    tally.dropped += 1;
    return;
  }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer.raw)?.[1] ?? 0);
  if (status === 0) return; // the server closed without an answer (allowed: the caller sent garbage)
  tally.answered += 1;
  // HEAD answers never carry a body to check.
  if (status < 400 || ex.kind.startsWith('HEAD ')) return;
  const body = answer.raw.slice(answer.raw.indexOf('\r\n\r\n') + 4);
  let code: string | undefined;
  try {
    code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  // Node's HTTP layer answers some protocol abuse itself (400 bad header, 417 unmet Expect, 431
  // huge headers), without a JSON body.
  const json = /\r\ncontent-type: application\/json/i.test(answer.raw.slice(0, answer.raw.indexOf('\r\n\r\n')));
  if (!json && NODE_HTTP_ANSWERS.has(status)) {
    tally.parserRejections += 1;
    return;
  }
  if (code === undefined || !ErrorCodeSchema.safeParse(code).success) {
    tally.untypedErrors += 1;
    findings.push(`${ex.kind}: ${status} with body ${body.slice(0, 120)}`);
    return;
  }
  // A 5xx is documented when the table gives its code that status; internal_error is always a fault.
  if (status >= 500 && (code === 'internal_error' || ERROR_TABLE[code as keyof typeof ERROR_TABLE].http !== status)) {
    tally.undocumented5xx += 1;
    findings.unshift(`${ex.kind}: ${status} ${code}`);
  }
}

/** After the fuzzing: an authorised journal read and a relay still succeed. */
async function stillServing(h: ApiHost): Promise<boolean> {
  try {
    await h.client.journal({ limit: 1 });
    const response = await h.client.relay({ platform: 'mock', method: 'POST', path: '/after-fuzz', body: '{}' });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Statuses Node's HTTP server sends on its own, before any route runs. */
const NODE_HTTP_ANSWERS = new Set([400, 413, 417, 431]);

const ROUTES = [
  ['GET', '/v1/browser'],
  ['GET', '/v1/browser?platform=mock'],
  ['POST', '/v1/browser/request'],
  ['POST', '/v1/browser/targets/mock/agent-1/reset'],
  ['POST', '/v1/system/pause'],
  ['POST', '/v1/system/resume'],
  ['POST', '/v1/policy/reload'],
  ['GET', '/v1/journal'],
  ['GET', '/v1/journal?limit=5&platform=mock&outcome=success'],
  ['GET', `/v1/auth/proof?nonce=${'n'.repeat(43)}`],
  ['GET', '/v1/auth/proof?nonce=short'],
] as const;

/** Generated exchanges over every route: mostly one well-formed HTTP request carrying hostile content, and raw protocol abuse. */
function exchange(token: string): fc.Arbitrary<Exchange> {
  const auth = fc.oneof({ arbitrary: fc.constant(`Bearer ${token}`), weight: 8 }, fc.constant(''), fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`));
  const method = fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST'), weight: 5 }, fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'BREW'));
  const path = fc.oneof(
    { arbitrary: fc.constantFrom(...ROUTES.map(([, p]) => p)), weight: 6 },
    fc.constantFrom('/', '/v1', '/v1/browser/targets//reset', '/v1/browser/targets/%zz/%00/reset', '/v1/journal?limit=-1', '/v1/journal?limit=abc&x=1', '/v1/../etc/passwd', '/v1/browser?platform=NOT%20OK'),
    fc.webPath(),
    fc.string({ maxLength: 80 }).map((s) => `/v1/browser/targets/${encodeURIComponent(s)}/${encodeURIComponent(s)}/reset`),
  );
  const relayBody = fc.record(
    {
      platform: fc.oneof(fc.constant('mock'), fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
      client_id: fc.oneof(fc.constant('agent-1'), fc.string({ maxLength: 200 })),
      method: fc.oneof(fc.constantFrom('GET', 'POST'), fc.string({ maxLength: 10 })),
      path: fc.oneof(fc.constant('/chat'), fc.string({ maxLength: 100 }), fc.constant('//evil.example/x')),
      headers: fc.oneof(fc.dictionary(fc.string({ maxLength: 30 }), fc.string({ maxLength: 60 }), { maxKeys: 5 }), fc.constant({ Cookie: 'x' }), fc.jsonValue({ maxDepth: 2 })),
      body: fc.oneof(fc.constant('{}'), fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 2 })),
      stream: fc.oneof({ arbitrary: fc.boolean(), weight: 4 }, fc.jsonValue({ maxDepth: 1 })),
      request_id: fc.oneof(fc.uuid(), fc.string({ maxLength: 140 })),
      max_wait_ms: fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.double(), fc.string({ maxLength: 5 })),
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    relayBody.map((b) => JSON.stringify(b)),
    fc.record({ reason: fc.oneof(fc.string({ maxLength: 600 }), fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('', '{', '{"platform":', 'null', '[]', '{"__proto__":{"polluted":1}}', '\u0000\u0001'),
    fc.integer({ min: 1, max: 50 }).map((d) => '['.repeat(d * 1_000) + ']'.repeat(d * 1_000)),
  );
  const headerValue = fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n]/g, ''));
  const extraHeaders = fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom('Origin', 'Host', 'Content-Type', 'Accept', 'X-Custom', 'Transfer-Encoding', 'Expect', 'Sec-Fetch-Site'), headerValue),
      fc.tuple(fc.constantFrom('Origin'), fc.constantFrom('null', 'http://evil.example', 'moz-extension://x', 'http://127.0.0.1')),
    ),
    { maxLength: 4 },
  );

  const wellFormed = fc
    .record({ method, path, auth, body, extraHeaders, keepSseOpen: fc.boolean() })
    .map(({ method: m, path: p, auth: a, body: b, extraHeaders: hs }): Exchange => {
      const bytes = Buffer.from(b, 'utf8');
      const head = [`${m} ${p} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `Content-Length: ${bytes.length}`];
      if (a !== '') head.push(`Authorization: ${a}`);
      for (const [name, value] of hs) if (!/^(content-length|host)$/i.test(name)) head.push(`${name}: ${value}`);
      return { kind: `${m} ${p.slice(0, 60)}`, parts: [Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), bytes], pauseMs: 0, drop: 'no' };
    });
  const streamedThenDropped = fc.constantFrom('after-first-bytes' as const, 'after-send' as const).map((drop): Exchange => {
    const b = Buffer.from(JSON.stringify({ platform: 'mock', method: 'POST', path: '/chat', body: '{}', stream: true }));
    const head = `POST /v1/browser/request HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`;
    return { kind: `SSE dropped ${drop}`, parts: [Buffer.from(head), b], pauseMs: 0, drop };
  });
  const slowBody = fc.tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 10, max: 200 }), fc.boolean()).map(([pieces, pauseMs, complete]): Exchange => {
    const b = Buffer.from(JSON.stringify({ platform: 'mock', method: 'POST', path: '/chat', body: '{"slow":true}' }));
    // An incomplete body promises more than it sends, then the caller goes away.
    const declared = complete ? b.length : b.length + 100;
    const head = Buffer.from(`POST /v1/browser/request HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${declared}\r\n\r\n`);
    const size = Math.ceil(b.length / pieces);
    const parts = [head, ...Array.from({ length: pieces }, (_, i) => b.subarray(i * size, (i + 1) * size))];
    return { kind: `slow body (${pieces} pieces, ${pauseMs} ms apart, ${complete ? 'complete' : 'cut off'})`, parts, pauseMs, drop: complete ? 'no' : 'after-send' };
  });
  const hugeHeaders = fc.tuple(fc.integer({ min: 8_000, max: 200_000 }), fc.integer({ min: 1, max: 200 })).map(([size, count]): Exchange => {
    const one = 'x'.repeat(Math.ceil(size / count));
    const lines = Array.from({ length: count }, (_, i) => `X-Big-${i}: ${one}`).join('\r\n');
    return { kind: `huge headers (${size} bytes in ${count})`, parts: [Buffer.from(`GET /v1/journal HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\n${lines}\r\n\r\n`)], pauseMs: 0, drop: 'no' };
  });
  const badHeaderName = fc.constantFrom('Bad Header', 'X:Y', 'X\u0001', '', 'Ü-Header', '(x)', 'X-\u007f').map((name): Exchange => ({
    kind: `bad header name ${JSON.stringify(name)}`,
    parts: [Buffer.from(`GET /v1/journal HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\n${name}: v\r\n\r\n`, 'latin1')],
    pauseMs: 0,
    drop: 'no',
  }));
  const garbage = fc.uint8Array({ minLength: 1, maxLength: 2_000 }).map((bytes): Exchange => ({ kind: 'raw bytes', parts: [Buffer.from(bytes)], pauseMs: 0, drop: 'after-send' }));
  return fc.oneof(
    { arbitrary: wellFormed, weight: 20 },
    { arbitrary: streamedThenDropped, weight: 3 },
    { arbitrary: slowBody, weight: 2 },
    { arbitrary: hugeHeaders, weight: 2 },
    { arbitrary: badHeaderName, weight: 2 },
    { arbitrary: garbage, weight: 2 },
  );
}
