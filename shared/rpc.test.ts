import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConductorError, type ErrorBody } from './errors.js';
import { EnvelopeSchema } from './envelope.js';
import { RpcPeer, type RpcTimers } from './rpc.js';

const serverMethods = {
  echo: { payload: z.object({ text: z.string() }), result: z.object({ text: z.string() }) },
  fail: { payload: z.object({}), result: z.object({}) },
  crash: { payload: z.object({}), result: z.object({}) },
  big: { payload: z.object({ size: z.number() }), result: z.object({ data: z.string() }) },
};
const events = { note: z.object({ n: z.number() }) };

/** Timers the test fires by hand. */
function manualTimers(): RpcTimers & { fireAll(): void } {
  const timers = new Map<number, () => void>();
  let next = 1;
  return {
    setTimeout: (fn) => {
      timers.set(next, fn);
      return next++;
    },
    clearTimeout: (h) => void timers.delete(h as number),
    fireAll: () => {
      for (const [k, fn] of [...timers]) {
        timers.delete(k);
        fn();
      }
    },
  };
}

/** A server peer fed raw messages, with every reply it sends parsed. */
function rawPeer() {
  const replies: unknown[] = [];
  const raw = new RpcPeer({
    send: (_e, json) => replies.push(JSON.parse(json)),
    serves: serverMethods,
    handlers: { echo: ({ text }) => ({ text }), fail: () => ({}), crash: () => ({}), big: () => ({ data: '' }) },
    calls: {},
    inEvents: {},
    outEvents: {},
    timers: manualTimers(),
    defaultTimeoutMs: 10,
    newId: () => 'x',
  });
  return { raw, replies };
}

function pair(opts: { drop?: boolean } = {}) {
  const timers = manualTimers();
  const errors: ErrorBody[] = [];
  const notes: number[] = [];
  const sent: string[] = [];
  let n = 0;
  // eslint-disable-next-line prefer-const
  let client: RpcPeer<{}, typeof serverMethods, {}, typeof events>;
  const server = new RpcPeer({
    send: (_env, json) => queueMicrotask(() => client.receiveJson(json)),
    serves: serverMethods,
    handlers: {
      echo: ({ text }) => ({ text: text.toUpperCase() }),
      fail: () => {
        throw new ConductorError('circuit_open', 'open', { retry_after_ms: 5 });
      },
      crash: () => {
        throw new Error('secret token abc');
      },
      big: ({ size }) => ({ data: 'é'.repeat(size) }),
    },
    calls: {},
    inEvents: events,
    eventHandlers: { note: ({ n }) => void notes.push(n) },
    outEvents: {},
    timers,
    defaultTimeoutMs: 1000,
    newId: () => `s${n++}`,
    maxOutboundBytes: 1000,
    onProtocolError: (e) => void errors.push(e),
  });
  client = new RpcPeer({
    send: (_env, json) => {
      sent.push(json);
      if (!opts.drop) queueMicrotask(() => server.receiveJson(json));
    },
    serves: {},
    handlers: {},
    calls: serverMethods,
    inEvents: {},
    outEvents: events,
    timers,
    defaultTimeoutMs: 1000,
    newId: () => `c${n++}`,
  });
  return { server, client, timers, errors, notes, sent };
}

describe('RpcPeer', () => {
  it('correlates a request with its validated result', async () => {
    const { client } = pair();
    await expect(client.request('echo', { text: 'hi' })).resolves.toEqual({ text: 'HI' });
    expect(client.pendingCount).toBe(0);
  });

  it('carries a typed error with its details', async () => {
    const { client } = pair();
    const err = await client.request('fail', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConductorError);
    expect(err).toMatchObject({ code: 'circuit_open', details: { retry_after_ms: 5 } });
  });

  it('hides an unexpected fault behind internal_error without its message', async () => {
    const { client, errors } = pair();
    const err = (await client.request('crash', {}).catch((e: unknown) => e)) as ConductorError;
    expect(err.code).toBe('internal_error');
    expect(err.message).not.toContain('secret');
    expect(errors.map((e) => e.code)).toEqual(['internal_error']);
  });

  it('answers a bad payload with the failing field', async () => {
    const { client } = pair();
    const err = (await client.request('echo', { text: 3 } as never).catch((e: unknown) => e)) as ConductorError;
    expect(err.code).toBe('bad_payload');
    expect(JSON.stringify(err.details)).toContain('text');
  });

  it('answers unknown types and bad envelopes when an id can be read, and keeps serving', async () => {
    const { server, client, sent } = pair();
    const { raw, replies } = rawPeer();
    raw.receive({ v: 1, kind: 'request', id: 'a', type: 'nope', payload: {} });
    raw.receive({ v: 2, kind: 'request', id: 'b', type: 'echo', payload: {} });
    raw.receiveJson('{not json');
    raw.receive({ v: 1, kind: 'request', id: 'c', type: 'echo', payload: { text: 'ok' } });
    await new Promise((r) => setTimeout(r, 0));
    expect(replies).toMatchObject([
      { id: 'a', ok: false, error: { code: 'unknown_type' } },
      { id: 'b', ok: false, error: { code: 'bad_envelope' } },
      { id: 'c', ok: true, payload: { text: 'ok' } },
    ]);
    expect(server.pendingCount + client.pendingCount + sent.length).toBe(0);
  });

  it('answers a bad envelope with a valid envelope, whatever its type field held (found by the frame fuzzer)', async () => {
    const { raw, replies } = rawPeer();
    for (const type of ['nu4.', 'a..b', 'echo']) raw.receive({ v: 2, kind: 'request', id: 'x', type, payload: {} });
    await new Promise((r) => setTimeout(r, 0));
    expect(replies.map((r) => EnvelopeSchema.safeParse(r).success)).toEqual([true, true, true]);
    expect(replies.map((r) => (r as { type: string }).type)).toEqual(['error', 'error', 'echo']);
  });

  it('refuses to send more than the outbound cap and answers too_large instead', async () => {
    const { client } = pair();
    await expect(client.request('big', { size: 100 })).resolves.toMatchObject({ data: expect.any(String) });
    // 400 two-byte characters are 800 bytes of payload: over the 1000-byte cap with the envelope.
    await expect(client.request('big', { size: 500 })).rejects.toMatchObject({ code: 'too_large' });
  });

  it('times out a request nobody answers, and fails all pending on disconnect', async () => {
    const { client, timers } = pair({ drop: true });
    const a = client.request('echo', { text: 'a' });
    const b = client.request('echo', { text: 'b' }, { timeoutMs: 5 });
    timers.fireAll();
    await expect(a).rejects.toMatchObject({ code: 'timeout' });
    await expect(b).rejects.toMatchObject({ code: 'timeout', details: { timeout_ms: 5 } });
    const c = client.request('echo', { text: 'c' });
    client.failAll(new ConductorError('host_unavailable', 'gone'));
    await expect(c).rejects.toMatchObject({ code: 'host_unavailable' });
  });

  it('delivers validated events and drops invalid ones', async () => {
    const { client, notes, errors } = pair();
    client.emit('note', { n: 1 });
    client.emit('note', { n: 'x' } as never);
    await new Promise((r) => setTimeout(r, 0));
    expect(notes).toEqual([1]);
    expect(errors.map((e) => e.code)).toEqual(['bad_payload']);
  });
});
