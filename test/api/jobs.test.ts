// Durable jobs against the real host with the fake add-on: submission, the dispatcher's pacing
// by the policy's refusals, one attempt per target at a time, cancel, events, conversations.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConductorError } from '../../shared/errors.js';
import type { JobEvent } from '../../shared/jobs.js';
import type { RelayRequest, RelayResponse } from '../../shared/relay.js';
import { waitFor } from '../helpers/wait.js';
import { type ApiHost, echoResponse, startApiHost } from './api-host.js';
import { errorCode, rawRequest } from './http.js';

/** The fake add-on's view of each relay: when it came and when it was answered. */
interface Seen {
  request: RelayRequest;
  at: number;
  answeredAt: number | null;
}

describe('durable jobs (real host, fake add-on)', () => {
  let h: ApiHost;
  const seen: Seen[] = [];
  /** Answers the next relay; default: echo after `delayMs`. */
  let answer: (request: RelayRequest) => Promise<RelayResponse> | RelayResponse = echoResponse;

  beforeAll(async () => {
    h = await startApiHost({
      'relay.request': async (request) => {
        const entry: Seen = { request, at: Date.now(), answeredAt: null };
        seen.push(entry);
        try {
          return await answer(request);
        } finally {
          entry.answeredAt = Date.now();
        }
      },
    });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });
  beforeEach(() => {
    seen.length = 0;
    answer = echoResponse;
  });

  const done = (id: string) => waitFor(`job ${id} to end`, async () => {
    const job = await h.client.job(id);
    return ['done', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
  }, 15_000);

  it('answers 202 with the job id once stored, sends it through the add-on, and keeps the answer', async () => {
    const raw = await rawRequest({ port: h.port, method: 'POST', path: '/v1/jobs', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'POST', path: '/chat', body: 'hello' }) });
    expect(raw.status).toBe(202);
    const accepted = JSON.parse(raw.body) as { job_id: string; status: string; replayed: boolean };
    expect(accepted).toMatchObject({ status: 'pending', replayed: false });
    const job = await done(accepted.job_id);
    expect(job).toMatchObject({ status: 'done', response_status: 200, attempt_count: 1, last_error: null, result: { truncated: false } });
    expect(JSON.parse(job.result!.body)).toEqual({ method: 'POST', path: '/chat', body: 'hello' });
    expect(job.attempts).toMatchObject([{ attempt: 1, outcome: 'done', http_status: 200, request_id: `${accepted.job_id}.1` }]);
    expect(seen.map((s) => s.request)).toMatchObject([{ requestId: `${accepted.job_id}.1`, platform: 'mock', clientId: 'default', maxWaitMs: 30_000 }]);
  });

  it('answers a repeated idempotency key with the same job, and a reuse with other parameters with duplicate_request', async () => {
    const first = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/once', idempotency_key: 'idem-1' });
    const again = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/once', idempotency_key: 'idem-1' });
    expect(again).toEqual({ job_id: first.job_id, status: expect.any(String), replayed: true });
    await expect(h.client.submitJob({ platform: 'mock', method: 'GET', path: '/other', idempotency_key: 'idem-1' })).rejects.toMatchObject({ code: 'duplicate_request' });
    await done(first.job_id);
    expect(seen.filter((s) => s.request.path === '/once')).toHaveLength(1);
  });

  it('refuses bad input with bad_payload naming the field, credential headers included', async () => {
    const bad = await rawRequest({ port: h.port, method: 'POST', path: '/v1/jobs', headers: h.auth, body: JSON.stringify({ platform: 'mock', method: 'GET', path: '/x', headers: { Authorization: 'Bearer x' } }) });
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe('bad_payload');
    expect(bad.body).toContain('headers');
    const unknown = await rawRequest({ port: h.port, path: '/v1/jobs/job-nope', headers: h.auth });
    expect([unknown.status, errorCode(unknown)]).toEqual([404, 'not_found']);
  });

  it('schedules the next attempt no earlier than the refusal’s retry_after_ms, without counting the refusal', async () => {
    let refusals = 1;
    answer = (request) => {
      if (refusals-- > 0) throw new ConductorError('rate_limited', 'window full', { retry_after_ms: 1_200 });
      return echoResponse(request);
    };
    const { job_id } = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/paced', max_attempts: 1 });
    const job = await done(job_id);
    expect(job).toMatchObject({ status: 'done', attempt_count: 1 });
    expect(job.attempts.map((a) => a.outcome)).toEqual(['refused', 'done']);
    expect(job.attempts[0]).toMatchObject({ error: { code: 'rate_limited' }, retry_after_ms: 1_200 });
    expect(job.attempts[1]!.started_at - job.attempts[0]!.finished_at!).toBeGreaterThanOrEqual(1_200);
  });

  it('fails a job after max_attempts counted failures, keeping each attempt and the last error', async () => {
    answer = () => {
      throw new ConductorError('upstream_5xx', 'the platform answered HTTP 502', { status: 502, retry_after_ms: 300 });
    };
    const { job_id } = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/broken', max_attempts: 2 });
    const job = await done(job_id);
    expect(job).toMatchObject({ status: 'failed', attempt_count: 2, last_error: { code: 'upstream_5xx' } });
    expect(job.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed']);
  });

  it('fails at once on an error no retry can help (unknown_platform)', async () => {
    answer = () => {
      throw new ConductorError('unknown_platform', 'not configured');
    };
    const job = await done((await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/nope' })).job_id);
    expect(job).toMatchObject({ status: 'failed', attempt_count: 1, last_error: { code: 'unknown_platform' } });
  });

  it('keeps at most one attempt in flight per target, and serves targets side by side in arrival order', async () => {
    answer = async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return echoResponse(request);
    };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) for (const client of ['fair-a', 'fair-b']) ids.push((await h.client.submitJob({ platform: 'mock', client_id: client, method: 'GET', path: `/${client}/${i}` })).job_id);
    for (const id of ids) expect((await done(id)).status).toBe('done');
    for (const client of ['fair-a', 'fair-b']) {
      const mine = seen.filter((s) => s.request.clientId === client);
      expect(mine.map((s) => s.request.path)).toEqual([0, 1, 2, 3].map((i) => `/${client}/${i}`));
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.at).toBeGreaterThanOrEqual(mine[i - 1]!.answeredAt!);
    }
    // Both targets were served while the other had work: their attempts overlap in time.
    const a = seen.filter((s) => s.request.clientId === 'fair-a');
    const b = seen.filter((s) => s.request.clientId === 'fair-b');
    expect(b[0]!.at).toBeLessThan(a[a.length - 1]!.answeredAt!);
  });

  it('cancels a pending job before it is sent, and refuses to cancel a finished one', async () => {
    const later = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/later', not_before: Date.now() + 60_000 });
    expect(await h.client.cancelJob(later.job_id)).toMatchObject({ status: 'cancelled', last_error: { code: 'cancelled' } });
    const finished = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/quick' });
    await done(finished.job_id);
    await expect(h.client.cancelJob(finished.job_id)).rejects.toMatchObject({ code: 'job_finished' });
    expect(seen.some((s) => s.request.path === '/later')).toBe(false);
  });

  it('cancels a running job: the relay is cancelled in the add-on and the job ends cancelled', async () => {
    let release: () => void = () => undefined;
    answer = (request) => new Promise((resolve) => (release = () => resolve(echoResponse(request))));
    const cancels: string[] = [];
    h.host.respondWith({ 'relay.cancel': ({ requestId }) => (cancels.push(requestId), { cancelled: true }) });
    const { job_id } = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/slow' });
    await waitFor('the attempt to reach the add-on', () => (seen.length > 0 ? true : undefined), 5_000);
    expect(await h.client.cancelJob(job_id)).toMatchObject({ status: 'cancelled' });
    await waitFor('relay.cancel', () => (cancels.includes(`${job_id}.1`) ? true : undefined), 5_000);
    release();
    const job = await done(job_id);
    expect(job).toMatchObject({ status: 'cancelled', result: null });
    expect(job.attempts).toMatchObject([{ outcome: 'cancelled' }]);
  });

  it('streams a job’s events: queued, attempt, admitted, streaming pieces in order, done', async () => {
    answer = (request) => {
      for (const [seq, data] of ['hel', 'lo'].entries()) h.host.emit('relay.chunk', { requestId: request.requestId, seq, data });
      return { ...echoResponse(request), body: null, chunked: true, bodyLength: 5 };
    };
    const { job_id } = await h.client.submitJob({ platform: 'mock', method: 'GET', path: '/stream', not_before: Date.now() + 300 });
    const events: JobEvent[] = [];
    const final = await h.client.watchJob(job_id, (e) => events.push(e));
    expect(final).toMatchObject({ name: 'done', data: { job_id, status: 'done' } });
    expect(events.map((e) => e.name)).toEqual(['queued', 'attempt', 'admitted', 'streaming', 'streaming', 'done']);
    expect(events.filter((e) => e.name === 'streaming').map((e) => e.data)).toMatchObject([{ seq: 0, data: 'hel' }, { seq: 1, data: 'lo' }]);
    expect((await h.client.job(job_id)).result?.body).toBe('hello');
    // A finished job's stream is its final event alone.
    expect(await h.client.watchJob(job_id)).toMatchObject({ name: 'done' });
  });

  it('lists jobs newest first, by page and by status', async () => {
    for (let i = 0; i < 3; i++) await h.client.submitJob({ platform: 'mock', method: 'GET', path: `/listed/${i}`, not_before: Date.now() + 600_000 });
    const first = await h.client.jobs({ status: 'pending', limit: 2 });
    expect(first.jobs.map((j) => j.path)).toEqual(['/listed/2', '/listed/1']);
    const second = await h.client.jobs({ status: 'pending', limit: 2, cursor: first.next_cursor! });
    expect(second.jobs.map((j) => j.path)).toEqual(['/listed/0']);
    expect(second.next_cursor).toBeNull();
    for (const job of [...first.jobs, ...second.jobs]) await h.client.cancelJob(job.job_id);
  });

  it('runs a conversation’s jobs one at a time, pauses it after repeated failures, and resumes it', async () => {
    answer = () => {
      throw new ConductorError('upstream_5xx', 'HTTP 500', { retry_after_ms: 250 });
    };
    const { job_id } = await h.client.submitJob({ platform: 'mock', method: 'POST', path: '/c', body: 'hi', conversation_id: 'conv-1', max_attempts: 10 });
    const paused = await waitFor('the conversation to pause', async () => {
      const c = await h.client.conversation('conv-1');
      return c.automation_status === 'paused' ? c : undefined;
    }, 15_000);
    expect(paused).toMatchObject({ consecutive_failure_count: 3, execution_state: 'idle', pause_reason: expect.stringContaining('3 consecutive failures') });
    expect((await h.client.job(job_id)).status).toBe('pending');
    const sentWhilePaused = seen.length;
    answer = echoResponse;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(seen.length).toBe(sentWhilePaused);
    expect(await h.client.setConversation('conv-1', 'resume')).toMatchObject({ automation_status: 'manual', pause_reason: null, consecutive_failure_count: 0 });
    expect((await done(job_id)).status).toBe('done');
    expect((await h.client.conversations()).map((c) => c.conversation_id)).toContain('conv-1');
    await expect(h.client.conversation('conv-none')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('renews an auto conversation on its schedule, one renewal at a time, until the same-renewal rule pauses it', async () => {
    await h.client.submitJob({ platform: 'mock', method: 'POST', path: '/start', body: 'begin', conversation_id: 'conv-auto' });
    const bad = await rawRequest({ port: h.port, method: 'POST', path: '/v1/conversations/conv-auto/auto', headers: h.auth, body: JSON.stringify({ renewal: { every_ms: 1_000, method: 'GET', path: '/renew', body: 'x' } }) });
    expect([bad.status, errorCode(bad)]).toEqual([400, 'bad_payload']);
    const auto = await h.client.setConversation('conv-auto', 'auto', { renewal: { every_ms: 1_000, path: '/renew', body: 'keep going' } });
    expect(auto).toMatchObject({ automation_status: 'auto', renewal: { every_ms: 1_000, method: 'POST', path: '/renew' }, next_renewal_at: expect.any(Number) });
    const paused = await waitFor('the same-renewal rule to pause the conversation', async () => {
      const c = await h.client.conversation('conv-auto');
      return c.automation_status === 'paused' ? c : undefined;
    }, 20_000);
    expect(paused).toMatchObject({ repeated_renewal_count: 5, pause_reason: expect.stringContaining('the same renewal sent 5 times in a row') });
    const renewals = (await h.client.renewalJobs({ limit: 50 })).jobs.filter((j) => j.conversation_id === 'conv-auto');
    expect(renewals).toHaveLength(5);
    expect(renewals.every((j) => j.status === 'done' && j.kind === 'renewal')).toBe(true);
    expect(seen.filter((s) => s.request.path === '/renew')).toHaveLength(5);
    // Each renewal job is made one interval after the one before (no burst).
    const made = renewals.map((j) => j.created_at).sort((a, b) => a - b);
    for (let i = 1; i < made.length; i++) expect(made[i]! - made[i - 1]!).toBeGreaterThanOrEqual(1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(seen.filter((s) => s.request.path === '/renew')).toHaveLength(5);
  });

  it('serves the OpenAPI document at /v1/openapi.json, equal to docs/openapi.json', async () => {
    const served = await rawRequest({ port: h.port, path: '/v1/openapi.json', headers: h.auth });
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body)).toEqual(JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')));
  });

  it('lists renewal jobs apart from plain jobs', async () => {
    const renewal = await h.client.submitJob({ platform: 'mock', method: 'POST', path: '/renew', body: 'continue', conversation_id: 'conv-r', kind: 'renewal' });
    await done(renewal.job_id);
    const listed = await h.client.renewalJobs();
    expect(listed.jobs.filter((j) => j.conversation_id === 'conv-r').map((j) => j.job_id)).toEqual([renewal.job_id]);
    expect(listed.jobs.every((j) => j.kind === 'renewal')).toBe(true);
    expect(listed.jobs[0]).toMatchObject({ kind: 'renewal', conversation_id: 'conv-r', status: 'done' });
  });
});
