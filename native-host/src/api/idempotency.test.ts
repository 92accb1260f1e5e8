import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../../shared/journal.js';
import type { RelayRequest } from '../../../shared/relay.js';
import { ADMISSION, MemoryJournal, thrownCode } from '../../../test/api/fakes.js';
import { IdempotencyRegistry, fingerprintOf, identityOf } from './idempotency.js';

const request: RelayRequest = {
  requestId: 'r-1',
  platform: 'mock',
  clientId: 'agent-1',
  container: 'firefox-default',
  method: 'POST',
  path: '/api/chat?token=x',
  headers: { 'Content-Type': 'application/json' },
  body: '{"prompt":"hi"}',
  stream: false,
  maxWaitMs: null,
};

function row(outcome: JournalEntry['outcome'], extra: Partial<JournalEntry> = {}): JournalEntry {
  return { ...identityOf(request), requestId: 'r-1', outcome, createdAt: 1, admittedAt: 2, finishedAt: 3, httpStatus: null, errorCode: null, admission: null, ...extra };
}

function setup(...rows: JournalEntry[]) {
  const journal = new MemoryJournal();
  journal.record(rows);
  return new IdempotencyRegistry<{ fingerprint: string }>(journal);
}

describe('fingerprintOf / identityOf', () => {
  it('sees header case and order as the same request, and any other change as a different one', () => {
    const fp = fingerprintOf(request);
    expect(fingerprintOf({ ...request, headers: { 'content-type': 'application/json' } })).toBe(fp);
    expect(fingerprintOf({ ...request, body: '{"prompt":"ho"}' })).not.toBe(fp);
    expect(fingerprintOf({ ...request, stream: true })).not.toBe(fp);
    expect(fingerprintOf({ ...request, path: '/api/chat?token=y' })).not.toBe(fp);
  });

  it('keeps the journal identity free of the query string', () => {
    expect(identityOf(request)).toEqual({ platform: 'mock', clientId: 'agent-1', method: 'POST', path: '/api/chat' });
  });
});

describe('IdempotencyRegistry.lookup', () => {
  it('sends an unknown id afresh, and joins it while in flight with the same parameters', () => {
    const registry = setup();
    const fp = fingerprintOf(request);
    expect(registry.lookup(request, fp)).toEqual({ kind: 'fresh' });
    const run = { fingerprint: fp };
    registry.begin('r-1', run);
    expect(registry.lookup(request, fp)).toEqual({ kind: 'join', run });
  });

  it('refuses an in-flight id with other parameters as duplicate_request', () => {
    const registry = setup();
    registry.begin('r-1', { fingerprint: fingerprintOf(request) });
    const other = { ...request, body: 'different' };
    expect(thrownCode(() => registry.lookup(other, fingerprintOf(other)))).toBe('duplicate_request');
  });

  it('replays a journaled success with its recorded status and admission', () => {
    const registry = setup(row('success', { httpStatus: 201, admission: ADMISSION }));
    expect(registry.lookup(request, fingerprintOf(request))).toEqual({ kind: 'replay', replay: { ok: true, status: 201, admission: ADMISSION } });
  });

  it('replays a journaled failure or cancellation as its error, marked replayed', () => {
    for (const [outcome, code] of [['failure', 'upstream_5xx'], ['cancelled', 'cancelled']] as const) {
      const found = setup(row(outcome, { errorCode: code })).lookup(request, fingerprintOf(request));
      expect(found.kind).toBe('replay');
      if (found.kind !== 'replay' || found.replay.ok) throw new Error('expected an error replay');
      expect(found.replay.error.code).toBe(code);
      expect(found.replay.error.details).toMatchObject({ replayed: true, outcome });
    }
  });

  it('sends a rejected id afresh: nothing of it was dispatched', () => {
    expect(setup(row('rejected', { errorCode: 'rate_limited' })).lookup(request, fingerprintOf(request))).toEqual({ kind: 'fresh' });
  });

  it('reports an interrupted id as interrupted and never sends it again', () => {
    expect(thrownCode(() => setup(row('interrupted')).lookup(request, fingerprintOf(request)))).toBe('interrupted');
  });

  it('refuses a journaled id whose platform, client, method or path differ as duplicate_request', () => {
    for (const change of [{ platform: 'claude' }, { clientId: 'other' }, { method: 'GET' as const }, { path: '/api/other' }]) {
      const other = { ...request, ...change };
      expect(thrownCode(() => setup(row('success', { httpStatus: 200, admission: ADMISSION })).lookup(other, fingerprintOf(other)))).toBe('duplicate_request');
    }
  });

  it('answers an admitted row from the run that just settled here, and as interrupted when nothing here knows it', () => {
    const registry = setup(row('admitted'));
    expect(thrownCode(() => registry.lookup(request, fingerprintOf(request)))).toBe('interrupted');
    registry.begin('r-1', { fingerprint: fingerprintOf(request) });
    registry.finish('r-1', identityOf(request), { ok: true, status: 200, admission: ADMISSION });
    expect(registry.inFlightCount).toBe(0);
    expect(registry.lookup(request, fingerprintOf(request))).toEqual({ kind: 'replay', replay: { ok: true, status: 200, admission: ADMISSION } });
  });
});
