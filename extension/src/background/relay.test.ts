import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import type { JournalEntry } from '../../../shared/journal.js';
import type { RelayChunk, RelayRequestInput, RelayResponse } from '../../../shared/relay.js';
import { RelayRequestSchema } from '../../../shared/relay.js';
import type { Target } from '../../../shared/platforms.js';
import type { BeginOptions, Lease, LeaseOutcome } from '../policy/types.js';
import { JournalWriter, type JournalHost } from './journal-writer.js';
import { INLINE_BODY_MAX_BYTES, Relay } from './relay.js';
import { TabRegistry } from './tab-registry.js';
import { FakeClock, FakePort, settle } from './test-fakes.js';

const admission = { admittedAt: 1_700_000_000_000, queueDelayMs: 0, backoffDelayMs: 0, rateLimitDelayMs: 0, jitterDelayMs: 0, probe: false };

class FakeLease implements Lease {
  readonly touches: string[] = [];
  readonly outcomes: LeaseOutcome[] = [];
  readonly admission = admission;
  constructor(readonly requestId: string, readonly target: Target) {}
  get done(): boolean {
    return this.outcomes.length > 0;
  }
  touch(reason = ''): void {
    this.touches.push(reason);
  }
  complete(outcome: LeaseOutcome): void {
    if (!this.done) this.outcomes.push(outcome);
  }
}

/** An engine that admits at once, refuses with `refuse`, or holds the request until its signal aborts. */
class FakeEngine {
  readonly leases: FakeLease[] = [];
  refuse: ConductorError | null = null;
  hold = false;
  async beginRequest(target: Target, requestId: string, options: BeginOptions = {}): Promise<Lease> {
    if (this.refuse !== null) throw this.refuse;
    if (this.hold) {
      await new Promise<void>((_, reject) => options.signal?.addEventListener('abort', () => reject(new ConductorError('cancelled', 'left the queue'))));
    }
    const lease = new FakeLease(requestId, target);
    this.leases.push(lease);
    return lease;
  }
}

function setup(ready: () => Promise<void> = async () => undefined) {
  const clock = new FakeClock();
  const events: string[] = [];
  const rows: JournalEntry[] = [];
  const host: JournalHost & { connected: boolean; fail: boolean } = {
    connected: true,
    fail: false,
    async request(_type, payload) {
      if (!this.connected || this.fail) throw new ConductorError('host_unavailable', 'the native host is not connected');
      for (const e of (payload as { entries: JournalEntry[] }).entries) {
        rows.push(e);
        events.push(`journal:${e.outcome}`);
      }
      return { recorded: 1 } as never;
    },
  };
  const chunks: RelayChunk[] = [];
  const engine = new FakeEngine();
  const tabs = new TabRegistry(() => clock.now());
  const port = new FakePort('conductor-fx/page-proxy');
  port.onPost = (m) => events.push(`page:${(m as { type: string }).type}`);
  const relay = new Relay({
    engine: async () => engine,
    ready,
    tabs,
    journal: new JournalWriter(host),
    emitChunk: (c) => {
      chunks.push(c);
      events.push(`chunk:${c.seq}`);
    },
    now: () => clock.now(),
    platforms: new Set(['claude', 'mock']),
    proxyIdleTimeoutMs: () => 60_000,
  });
  const addTab = (tabId = 1, p = port) => tabs.add({ tabId, platform: 'claude', cookieStoreId: null, port: p, focusedAt: 0 });
  return { clock, events, rows, host, chunks, engine, tabs, port, relay, addTab };
}

function req(extra: Partial<RelayRequestInput> = {}) {
  return RelayRequestSchema.parse({ requestId: 'r1', platform: 'claude', clientId: 'agent', method: 'POST', path: '/api/chat?token=secret', body: '{}', ...extra });
}

async function outcomeOf(p: Promise<RelayResponse>): Promise<RelayResponse | ConductorError> {
  return p.catch((e: unknown) => {
    if (e instanceof ConductorError) return e;
    throw e;
  });
}

describe('Relay', () => {
  it('answers no_tab before admission: nothing dispatched, nothing counted, a rejected row', async () => {
    const s = setup();
    const result = await outcomeOf(s.relay.request(req()));
    expect(result).toMatchObject({ code: 'no_tab' });
    expect(s.engine.leases).toEqual([]);
    expect(s.port.posted).toEqual([]);
    expect(s.rows).toMatchObject([{ requestId: 'r1', outcome: 'rejected', errorCode: 'no_tab', path: '/api/chat' }]);
  });

  it('never falls back to another container: a request naming one with no tab is no_tab, naming it', async () => {
    const s = setup();
    s.addTab();
    const result = await outcomeOf(s.relay.request(req({ container: 'firefox-container-2' })));
    expect(result).toMatchObject({ code: 'no_tab', details: { platform: 'claude', container: 'firefox-container-2', client_id: 'agent' } });
    expect((result as ConductorError).message).toContain('firefox-container-2');
    expect(s.engine.leases).toEqual([]);
    expect(s.port.posted).toEqual([]);
  });

  it('refuses an unknown platform', async () => {
    const s = setup();
    s.addTab();
    expect(await outcomeOf(s.relay.request(req({ platform: 'nope' })))).toMatchObject({ code: 'unknown_platform' });
    expect(s.port.posted).toEqual([]);
  });

  it('journals a policy refusal as rejected and dispatches nothing', async () => {
    const s = setup();
    s.addTab();
    s.engine.refuse = new ConductorError('circuit_open', 'open', { retry_after_ms: 1000 });
    expect(await outcomeOf(s.relay.request(req()))).toMatchObject({ code: 'circuit_open', details: { retry_after_ms: 1000 } });
    expect(s.port.posted).toEqual([]);
    expect(s.rows).toMatchObject([{ outcome: 'rejected', errorCode: 'circuit_open', admittedAt: null }]);
  });

  it('commits the write-ahead row before proxy.fetch, then answers and journals the outcome', async () => {
    const s = setup();
    s.addTab();
    const pending = s.relay.request(req());
    await settle();
    expect(s.events).toEqual(['journal:admitted', 'page:proxy.fetch']);
    expect(s.port.posted[0]).toEqual({ type: 'proxy.fetch', requestId: 'r1', method: 'POST', path: '/api/chat?token=secret', headers: {}, body: '{}', stream: false, idleTimeoutMs: 60_000 });

    expect(s.relay.onProxyMessage(s.port, { type: 'proxy.end', requestId: 'r1', status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":1}', bodyLength: 8 })).toBe(true);
    await expect(pending).resolves.toEqual({ requestId: 'r1', status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":1}', bodyLength: 8, chunked: false, admission });
    expect(s.engine.leases[0]?.outcomes).toEqual([{ status: 'success', httpStatus: 200 }]);
    await settle();
    expect(s.rows.map((r) => [r.outcome, r.httpStatus, r.admittedAt])).toEqual([
      ['admitted', null, admission.admittedAt],
      ['success', 200, admission.admittedAt],
    ]);
  });

  it('does not dispatch when the write-ahead row cannot be committed', async () => {
    const s = setup();
    s.addTab();
    s.host.fail = true;
    expect(await outcomeOf(s.relay.request(req()))).toMatchObject({ code: 'host_unavailable' });
    expect(s.port.posted).toEqual([]);
    expect(s.engine.leases[0]?.outcomes).toMatchObject([{ status: 'cancelled' }]);
  });

  it('forwards chunks to the host in order, touching the lease on each', async () => {
    const s = setup();
    s.addTab();
    const pending = s.relay.request(req({ stream: true }));
    await settle();
    for (const [seq, data] of ['a', 'b', 'c'].entries()) s.relay.onProxyMessage(s.port, { type: 'proxy.chunk', requestId: 'r1', seq, data });
    s.relay.onProxyMessage(s.port, { type: 'proxy.end', requestId: 'r1', status: 200, headers: {}, body: null, bodyLength: 3 });
    const res = await pending;
    expect(s.chunks).toEqual([0, 1, 2].map((seq) => ({ requestId: 'r1', seq, data: 'abc'[seq] })));
    expect(s.engine.leases[0]?.touches).toEqual(['chunk', 'chunk', 'chunk']);
    expect(res).toMatchObject({ body: null, chunked: true, bodyLength: 3 });
  });

  it.each([
    [429, { 'Retry-After': '120' }, 'upstream_429', { status: 'failure', code: 'upstream_429', httpStatus: 429, retryAfterMs: 120_000 }],
    [500, {}, 'upstream_5xx', { status: 'failure', code: 'upstream_5xx', httpStatus: 500 }],
    [403, {}, 'auth_required', { status: 'failure', code: 'auth_required', httpStatus: 403 }],
  ])('classifies HTTP %i into the lease and rejects with %s', async (status, headers, code, leaseOutcome) => {
    const s = setup();
    s.addTab();
    const pending = outcomeOf(s.relay.request(req()));
    await settle();
    s.relay.onProxyMessage(s.port, { type: 'proxy.end', requestId: 'r1', status, headers, body: 'nope', bodyLength: 4 });
    const err = await pending;
    expect(err).toBeInstanceOf(ConductorError);
    expect(err).toMatchObject({ code, details: { status } });
    expect(s.engine.leases[0]?.outcomes[0]).toMatchObject(leaseOutcome);
    await settle();
    expect(s.rows.at(-1)).toMatchObject({ outcome: 'failure', errorCode: code, httpStatus: status });
    if (status === 429) expect((err as ConductorError).details?.['retry_after_ms']).toBe(120_000);
  });

  it('answers another 4xx as is and counts it as served', async () => {
    const s = setup();
    s.addTab();
    const pending = s.relay.request(req());
    await settle();
    s.relay.onProxyMessage(s.port, { type: 'proxy.end', requestId: 'r1', status: 404, headers: {}, body: 'missing', bodyLength: 7 });
    await expect(pending).resolves.toMatchObject({ status: 404, body: 'missing' });
    expect(s.engine.leases[0]?.outcomes).toEqual([{ status: 'success', httpStatus: 404 }]);
  });

  it('turns a page error into the lease outcome and the caller error, with what was received', async () => {
    const s = setup();
    s.addTab();
    const pending = outcomeOf(s.relay.request(req({ stream: true })));
    await settle();
    s.relay.onProxyMessage(s.port, { type: 'proxy.chunk', requestId: 'r1', seq: 0, data: 'part' });
    const partial = { receivedChunks: 1, receivedBytes: 4, lastSeq: 0, status: 200 };
    s.relay.onProxyMessage(s.port, { type: 'proxy.error', requestId: 'r1', code: 'stream_error', message: 'connection reset', partial });
    expect(await pending).toMatchObject({ code: 'stream_error', message: 'connection reset', details: { partial } });
    expect(s.engine.leases[0]?.outcomes[0]).toMatchObject({ status: 'failure', code: 'stream_error' });
  });

  it('cancels an in-flight request: aborts the page fetch, releases the lease, ignores the late answer', async () => {
    const s = setup();
    s.addTab();
    const pending = outcomeOf(s.relay.request(req()));
    await settle();
    expect(s.relay.cancel('r1')).toBe(true);
    expect(s.port.postedOfType('proxy.abort')).toEqual([{ type: 'proxy.abort', requestId: 'r1' }]);
    expect(await pending).toMatchObject({ code: 'cancelled' });
    expect(s.engine.leases[0]?.outcomes).toEqual([{ status: 'cancelled', code: 'cancelled' }]);
    expect(s.relay.onProxyMessage(s.port, { type: 'proxy.end', requestId: 'r1', status: 200, headers: {}, body: '', bodyLength: 0 })).toBe(false);
    expect(s.relay.cancel('r1')).toBe(false);
    await settle();
    expect(s.rows.at(-1)).toMatchObject({ outcome: 'cancelled' });
  });

  it.each([
    ['for its slot: it leaves the queue', async (): Promise<void> => undefined, true],
    ['for the engine to load or the host sync', (): Promise<void> => new Promise<void>(() => undefined), false],
  ] as const)('cancels a request still waiting %s, and never dispatches it', async (_what, ready, hold) => {
    const s = setup(ready);
    s.addTab();
    s.engine.hold = hold;
    const pending = outcomeOf(s.relay.request(req()));
    await settle();
    expect(s.relay.cancel('r1')).toBe(true);
    expect(await pending).toMatchObject({ code: 'cancelled' });
    expect(s.port.posted).toEqual([]);
    expect(s.rows).toMatchObject([{ outcome: 'cancelled', errorCode: 'cancelled' }]);
  });

  it('fails requests of a tab that closed with network_error, without blaming the platform', async () => {
    const s = setup();
    s.addTab();
    const pending = outcomeOf(s.relay.request(req()));
    await settle();
    s.relay.onPortGone(s.port);
    expect(await pending).toMatchObject({ code: 'network_error', details: { tab_closed: true } });
    expect(s.engine.leases[0]?.outcomes[0]).toMatchObject({ status: 'cancelled' });
  });

  it('aborts everything when the host goes away, leaving the write-ahead row for the host to report interrupted', async () => {
    const s = setup();
    s.addTab();
    const pending = outcomeOf(s.relay.request(req()));
    await settle();
    s.host.connected = false;
    s.relay.abortAll('the native host exited');
    expect(await pending).toMatchObject({ code: 'host_unavailable' });
    expect(s.port.postedOfType('proxy.abort')).toHaveLength(1);
    expect(s.engine.leases[0]?.outcomes[0]).toMatchObject({ status: 'cancelled' });
    expect(s.rows.map((r) => r.outcome)).toEqual(['admitted']);
    expect(s.relay.inFlightCount).toBe(0);
  });

  it('rejects requests still waiting when the host goes away, so a retry under the same id starts fresh', async () => {
    const s = setup();
    s.addTab();
    s.engine.hold = true;
    const pending = outcomeOf(s.relay.request(req()));
    await settle();
    s.relay.abortAll('the native host exited');
    expect(await pending).toMatchObject({ code: 'host_unavailable' });
    expect(s.port.posted).toEqual([]);
    expect(s.rows).toMatchObject([{ outcome: 'rejected', errorCode: 'host_unavailable' }]);
  });

  it('sends a body above the native-message budget as ordered chunks', async () => {
    const s = setup();
    s.addTab();
    const pending = s.relay.request(req());
    await settle();
    const body = 'é'.repeat(INLINE_BODY_MAX_BYTES / 2 + 10) + '😀'.repeat(1000);
    s.relay.onProxyMessage(s.port, { type: 'proxy.end', requestId: 'r1', status: 200, headers: {}, body, bodyLength: body.length });
    const res = await pending;
    expect(res).toMatchObject({ body: null, chunked: true });
    expect(s.chunks.length).toBeGreaterThan(1);
    expect(s.chunks.map((c) => c.seq)).toEqual(s.chunks.map((_, i) => i));
    expect(s.chunks.map((c) => c.data).join('')).toBe(body);
    expect(s.chunks.every((c) => !/[\ud800-\udbff]$/.test(c.data))).toBe(true);
  });

  it('ignores messages from another port and refuses a duplicate request id', async () => {
    const s = setup();
    s.addTab();
    const pending = outcomeOf(s.relay.request(req()));
    await settle();
    expect(s.relay.onProxyMessage(new FakePort('conductor-fx/page-proxy'), { type: 'proxy.end', requestId: 'r1', status: 200, headers: {}, body: '', bodyLength: 0 })).toBe(false);
    expect(await outcomeOf(s.relay.request(req()))).toMatchObject({ code: 'duplicate_request' });
    s.relay.cancel('r1');
    await pending;
  });
});
