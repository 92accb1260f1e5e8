import { describe, expect, it } from 'vitest';
import { classify, type Exchange, type Tally } from './api-fuzz.js';
import { typedReply } from './frame-fuzz.js';

describe('frame fuzzing: what counts as a typed reply', () => {
  it('takes envelopes, and error replies only with a code of the closed set', () => {
    expect(typedReply('{"v":1,"kind":"response","id":"a","type":"ping","ok":false,"error":{"code":"bad_payload","message":"m"}}')).toBe(true);
    expect(typedReply('{"v":1,"kind":"response","id":"a","type":"ping","ok":false,"error":{"code":"oops","message":"m"}}')).toBe(false);
    expect(typedReply('{"error":"x"}')).toBe(false);
    expect(typedReply('not json')).toBe(false);
  });
});

describe('api fuzzing: how an answer is judged', () => {
  const exchange: Exchange = { kind: 'GET /v1/journal', parts: [], pauseMs: 0, drop: 'no' };
  const tally = (): Tally => ({ requests: 0, answered: 0, dropped: 0, crashes: 0, hangs: 0, undocumented5xx: 0, untypedErrors: 0, parserRejections: 0 });
  const answer = (status: number, body: string, json = true) => ({
    raw: `HTTP/1.1 ${status} X\r\n${json ? 'Content-Type: application/json\r\n' : ''}\r\n${body}`,
    timedOut: false,
  });

  it('counts internal_error, and a 5xx whose code the table gives another status, as undocumented', () => {
    const t = tally();
    const findings: string[] = [];
    classify(exchange, answer(500, '{"error":{"code":"internal_error","message":"m"}}'), t, findings);
    classify(exchange, answer(503, '{"error":{"code":"bad_payload","message":"m"}}'), t, findings);
    classify(exchange, answer(503, '{"error":{"code":"extension_unavailable","message":"m"}}'), t, findings);
    expect(t).toMatchObject({ answered: 3, undocumented5xx: 2, untypedErrors: 0 });
    expect(findings).toHaveLength(2);
  });

  it('counts an error without a typed body as untyped, but not the bare answers of Node\'s HTTP parser', () => {
    const t = tally();
    classify(exchange, answer(404, 'Not Found', true), t, []);
    classify(exchange, answer(431, '', false), t, []);
    expect(t).toMatchObject({ untypedErrors: 1, parserRejections: 1 });
  });

  it('counts an exchange with no answer in time as a hang', () => {
    const t = tally();
    classify(exchange, { raw: '', timedOut: true }, t, []);
    expect(t.hangs).toBe(1);
  });
});
