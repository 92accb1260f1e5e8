import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../../shared/api.js';
import type { RelayRequest, RelayResponse } from '../../../shared/relay.js';
import { ADMISSION, FakeExtensionLink, MemoryLogger } from '../../../test/api/fakes.js';
import { DEFAULT_API_LIMITS } from './api-limits.js';
import { RelayRun } from './relay-run.js';

const base: RelayRequest = { requestId: 'r-1', platform: 'mock', clientId: 'a', method: 'GET', path: '/x', headers: {}, body: null, stream: true, maxWaitMs: null };

function response(extra: Partial<RelayResponse> = {}): RelayResponse {
  return { requestId: 'r-1', status: 200, headers: {}, body: null, bodyLength: 6, chunked: true, admission: ADMISSION, ...extra };
}

/** A link whose relay.request waits until the test resolves it. */
function pendingLink() {
  const link = new FakeExtensionLink();
  let answer: (r: RelayResponse) => void = () => undefined;
  link.on('relay.request', () => new Promise<RelayResponse>((resolve) => (answer = resolve)));
  link.on('relay.cancel', () => ({ cancelled: true }));
  return { link, answer: (r: RelayResponse) => answer(r) };
}

async function dispatched(run: RelayRun): Promise<void> {
  while (!run.dispatched) await new Promise((r) => setImmediate(r));
}

describe('RelayRun', () => {
  it('delivers chunks in seq order whatever order they arrive in, once each', async () => {
    const { link, answer } = pendingLink();
    const run = new RelayRun(base, 'fp', link, new MemoryLogger(), async () => undefined, DEFAULT_API_LIMITS.joinKeepBytes);
    const seen: StreamEvent[] = [];
    run.attach((e) => seen.push(e));
    await dispatched(run);
    for (const seq of [1, 0, 0, 3, 2]) link.emitChunk({ requestId: 'r-1', seq, data: `c${seq}` });
    answer(response());
    await run.result;
    expect(seen).toEqual([0, 1, 2, 3].map((seq) => ({ seq, data: `c${seq}` })));
    expect(run.partial()).toEqual({ receivedChunks: 4, receivedBytes: 8, lastSeq: 3, status: null });
  });

  it('gives a caller that joins late every chunk from the start', async () => {
    const { link, answer } = pendingLink();
    const run = new RelayRun(base, 'fp', link, new MemoryLogger(), async () => undefined, DEFAULT_API_LIMITS.joinKeepBytes);
    run.attach();
    await dispatched(run);
    link.emitChunk({ requestId: 'r-1', seq: 0, data: 'a' });
    const late: string[] = [];
    run.attach((e) => late.push(e.data));
    link.emitChunk({ requestId: 'r-1', seq: 1, data: 'b' });
    answer(response());
    await run.result;
    expect(late).toEqual(['a', 'b']);
  });

  it('reassembles a chunked non-streamed body', async () => {
    const { link, answer } = pendingLink();
    const run = new RelayRun({ ...base, stream: false }, 'fp', link, new MemoryLogger(), async () => undefined, DEFAULT_API_LIMITS.joinKeepBytes);
    await dispatched(run);
    link.emitChunk({ requestId: 'r-1', seq: 0, data: 'hel' });
    link.emitChunk({ requestId: 'r-1', seq: 1, data: 'lo' });
    answer(response());
    expect((await run.result).body).toBe('hello');
  });

  it('fails with stream_error when the answer comes while a chunk is still missing', async () => {
    const { link, answer } = pendingLink();
    const run = new RelayRun(base, 'fp', link, new MemoryLogger(), async () => undefined, DEFAULT_API_LIMITS.joinKeepBytes);
    await dispatched(run);
    link.emitChunk({ requestId: 'r-1', seq: 1, data: 'late' });
    answer(response());
    await expect(run.result).rejects.toMatchObject({ code: 'stream_error' });
  });

  it('sends relay.cancel when the last caller detaches before the end, not while one remains', async () => {
    const { link } = pendingLink();
    const run = new RelayRun(base, 'fp', link, new MemoryLogger(), async () => undefined, DEFAULT_API_LIMITS.joinKeepBytes);
    const first = run.attach(() => undefined);
    const second = run.attach(() => undefined);
    await dispatched(run);
    first();
    first();
    expect(link.callsOf('relay.cancel')).toEqual([]);
    second();
    expect(link.callsOf('relay.cancel')).toEqual([{ requestId: 'r-1' }]);
  });

  it('never dispatches a run whose caller left during the preflight', async () => {
    const { link } = pendingLink();
    let release: () => void = () => undefined;
    const run = new RelayRun(base, 'fp', link, new MemoryLogger(), () => new Promise<void>((r) => (release = r)), DEFAULT_API_LIMITS.joinKeepBytes);
    run.attach()();
    release();
    await expect(run.result).rejects.toMatchObject({ code: 'cancelled' });
    expect(link.callsOf('relay.request')).toEqual([]);
  });

  it('sends no cancel once the run has settled', async () => {
    const { link, answer } = pendingLink();
    const run = new RelayRun({ ...base, stream: false }, 'fp', link, new MemoryLogger(), async () => undefined, DEFAULT_API_LIMITS.joinKeepBytes);
    const detach = run.attach();
    await dispatched(run);
    answer(response({ chunked: false, body: 'x' }));
    await run.result;
    detach();
    expect(link.callsOf('relay.cancel')).toEqual([]);
  });

  it('keeps a stream for late joiners only up to joinKeepBytes, then keeps none and is no longer joinable', async () => {
    const { link, answer } = pendingLink();
    const run = new RelayRun(base, 'fp', link, new MemoryLogger(), async () => undefined, 10);
    const seen: string[] = [];
    run.attach((e) => seen.push(e.data));
    await dispatched(run);
    link.emitChunk({ requestId: 'r-1', seq: 0, data: '12345' });
    link.emitChunk({ requestId: 'r-1', seq: 1, data: '67890' });
    expect(run.joinable).toBe(true);
    const early: string[] = [];
    run.attach((e) => early.push(e.data));
    link.emitChunk({ requestId: 'r-1', seq: 2, data: 'x' });
    expect(run.joinable).toBe(false);
    // Callers already attached keep getting every event; the counts stay whole.
    link.emitChunk({ requestId: 'r-1', seq: 3, data: 'y' });
    expect(seen).toEqual(['12345', '67890', 'x', 'y']);
    expect(early).toEqual(['12345', '67890', 'x', 'y']);
    expect(run.partial()).toEqual({ receivedChunks: 4, receivedBytes: 12, lastSeq: 3, status: null });
    const late: string[] = [];
    run.attach((e) => late.push(e.data));
    expect(late).toEqual([]);
    answer(response());
    await run.result;
  });

  it('keeps a whole non-streamed body whatever joinKeepBytes says: it is the answer', async () => {
    const { link, answer } = pendingLink();
    const run = new RelayRun({ ...base, stream: false }, 'fp', link, new MemoryLogger(), async () => undefined, 2);
    await dispatched(run);
    link.emitChunk({ requestId: 'r-1', seq: 0, data: 'hel' });
    link.emitChunk({ requestId: 'r-1', seq: 1, data: 'lo' });
    expect(run.joinable).toBe(true);
    answer(response());
    expect((await run.result).body).toBe('hello');
  });
});
