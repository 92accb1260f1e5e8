import { beforeEach, describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { ApiJobRequestSchema, type ApiJobRequestInput } from '../../../shared/jobs.js';
import { useTempDb } from '../../../test/host/temp-store.js';
import { attemptRequestId } from '../jobs/job-request.js';
import { runRecovery } from '../recovery/recovery.js';
import { ConversationStore } from './conversation-store.js';
import { capUtf8, JobStore } from './job-store.js';

const NOW = 1_800_000_000_000;
const db = useTempDb();
let jobs: JobStore;
let conversations: ConversationStore;

beforeEach(() => {
  conversations = new ConversationStore(db().sqlite);
  jobs = new JobStore(db().sqlite, conversations, { resultMaxBytes: 16 });
});

const request = (extra: Partial<ApiJobRequestInput> = {}) => ApiJobRequestSchema.parse({ platform: 'mock', method: 'POST', path: '/chat', body: 'hi', ...extra });
const start = (id: string, at = NOW) => jobs.startAttempt(id, at, (n) => attemptRequestId(id, n));
const refusal = (retryAfterMs: number) => new ConductorError('rate_limited', 'window full', { retry_after_ms: retryAfterMs });

describe('JobStore', () => {
  it('stores a submitted job as pending, due at not_before, and finds it again by id', () => {
    const { job, replayed } = jobs.submit('j1', request({ not_before: NOW + 5_000 }), NOW);
    expect(replayed).toBe(false);
    expect(job).toMatchObject({ job_id: 'j1', status: 'pending', next_attempt_at: NOW + 5_000, attempt_count: 0, max_attempts: 5 });
    expect(jobs.get('j1')).toMatchObject({ job_id: 'j1', attempts: [], result: null });
    expect(jobs.headOfTarget('mock/default', NOW)).toBeNull();
    expect(jobs.headOfTarget('mock/default', NOW + 5_000)?.job_id).toBe('j1');
  });

  it('answers a repeated idempotency key with the same job, and refuses it with other parameters', () => {
    jobs.submit('j1', request({ idempotency_key: 'k1' }), NOW);
    expect(jobs.submit('j2', request({ idempotency_key: 'k1' }), NOW + 1)).toMatchObject({ job: { job_id: 'j1' }, replayed: true });
    expect(() => jobs.submit('j3', request({ idempotency_key: 'k1', body: 'other' }), NOW)).toThrow(expect.objectContaining({ code: 'duplicate_request' }));
    expect(jobs.get('j2')).toBeNull();
  });

  it('lists the targets with pending jobs by skip-scan, and each target head in due order', () => {
    jobs.submit('a1', request({ client_id: 'a' }), NOW);
    jobs.submit('b1', request({ client_id: 'b' }), NOW + 1);
    jobs.submit('a2', request({ client_id: 'a' }), NOW + 2);
    jobs.submit('c1', request({ client_id: 'c', container: 'work' }), NOW + 3);
    expect(jobs.pendingTargets()).toEqual(['mock/a', 'mock/b', 'mock/c#work']);
    expect(jobs.headOfTarget('mock/a', NOW + 10)?.job_id).toBe('a1');
    expect(start('a1')).not.toBeNull();
    expect(jobs.headOfTarget('mock/a', NOW + 10)?.job_id).toBe('a2');
    expect(jobs.earliestDueAt()).toBe(NOW + 1);
  });

  it('never starts a job twice: a running job is not pending', () => {
    jobs.submit('j1', request(), NOW);
    expect(start('j1')?.attempt).toBe(1);
    expect(start('j1')).toBeNull();
  });

  it('schedules a refused attempt at its retry time without counting it, and a failed one counting it', () => {
    jobs.submit('j1', request({ max_attempts: 2 }), NOW);
    start('j1');
    const refused = jobs.finishAttempt('j1', 1, { outcome: 'refused', error: refusal(30_000), retryAt: NOW + 30_000, retryAfterMs: 30_000 }, NOW);
    expect(refused).toMatchObject({ status: 'pending', attempt_count: 0, next_attempt_at: NOW + 30_000, last_error: { code: 'rate_limited' } });
    expect(start('j1', NOW + 30_000)?.attempt).toBe(2);
    const failed = jobs.finishAttempt('j1', 2, { outcome: 'failed', error: new ConductorError('upstream_5xx', 'HTTP 502'), retryAt: NOW + 40_000, retryAfterMs: null }, NOW + 31_000);
    expect(failed).toMatchObject({ status: 'pending', attempt_count: 1 });
    start('j1', NOW + 40_000);
    const last = jobs.finishAttempt('j1', 3, { outcome: 'failed', error: new ConductorError('upstream_5xx', 'HTTP 502'), retryAt: NOW + 50_000, retryAfterMs: null }, NOW + 41_000);
    expect(last).toMatchObject({ status: 'failed', attempt_count: 2, last_error: { code: 'upstream_5xx' } });
    expect(jobs.get('j1')?.attempts.map((a) => a.outcome)).toEqual(['refused', 'failed', 'failed']);
    expect(jobs.get('j1')?.attempts[0]).toMatchObject({ request_id: 'j1.1', retry_after_ms: 30_000 });
  });

  it('fails a job whose next attempt would come after its deadline', () => {
    jobs.submit('j1', request({ deadline: NOW + 10_000 }), NOW);
    start('j1');
    expect(jobs.finishAttempt('j1', 1, { outcome: 'refused', error: refusal(60_000), retryAt: NOW + 60_000, retryAfterMs: 60_000 }, NOW)).toMatchObject({
      status: 'failed',
      last_error: { code: 'deadline_exceeded' },
    });
  });

  it('stores a done answer capped at the limit, cut on a character boundary and marked truncated', () => {
    jobs.submit('j1', request(), NOW);
    start('j1');
    jobs.finishAttempt('j1', 1, { outcome: 'done', httpStatus: 200, body: 'ééééééééééé' }, NOW + 5);
    expect(jobs.get('j1')).toMatchObject({ status: 'done', response_status: 200, attempt_count: 1, result: { body: 'éééééééé', byte_length: 22, truncated: true } });
    expect(capUtf8('abc', 16)).toEqual({ text: 'abc', byteLength: 3, truncated: false });
  });

  it('cancels pending and running jobs, refuses finished ones, and ignores the late end of a cancelled attempt', () => {
    jobs.submit('p', request(), NOW);
    jobs.submit('r', request({ client_id: 'other' }), NOW);
    jobs.submit('d', request({ client_id: 'third' }), NOW);
    start('r');
    start('d');
    jobs.finishAttempt('d', 1, { outcome: 'done', httpStatus: 200, body: '' }, NOW);
    expect(jobs.cancel('p', NOW)).toMatchObject({ job: { status: 'cancelled' }, wasRunning: false });
    expect(jobs.cancel('r', NOW)).toMatchObject({ job: { status: 'cancelled', attempt_count: 1 }, wasRunning: true });
    expect(jobs.finishAttempt('r', 1, { outcome: 'done', httpStatus: 200, body: 'late' }, NOW + 1)).toMatchObject({ status: 'cancelled' });
    expect(jobs.get('r')?.result).toBeNull();
    expect(() => jobs.cancel('d', NOW)).toThrow(expect.objectContaining({ code: 'job_finished' }));
    expect(() => jobs.cancel('nope', NOW)).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('takes and releases the conversation lock with the job, and skips jobs of a paused conversation', () => {
    jobs.submit('j1', request({ conversation_id: 'conv' }), NOW);
    jobs.submit('j2', request({ conversation_id: 'conv' }), NOW + 1);
    start('j1');
    expect(conversations.get('conv')?.executionState).toBe('instruction_running');
    expect(jobs.headOfTarget('mock/default', NOW + 5)).toBeNull();
    expect(start('j2')).toBeNull();
    jobs.finishAttempt('j1', 1, { outcome: 'done', httpStatus: 200, body: 'ok' }, NOW + 2);
    expect(conversations.get('conv')?.executionState).toBe('idle');
    conversations.setStatus('conv', 'pause', NOW + 3);
    expect(jobs.headOfTarget('mock/default', NOW + 5)).toBeNull();
    conversations.setStatus('conv', 'resume', NOW + 4);
    expect(jobs.headOfTarget('mock/default', NOW + 5)?.job_id).toBe('j2');
  });

  it('pages the list newest first and filters by status', () => {
    for (let i = 1; i <= 5; i++) jobs.submit(`j${i}`, request(), NOW + i);
    start('j1');
    const first = jobs.list({ limit: 2 });
    expect(first.jobs.map((j) => j.job_id)).toEqual(['j5', 'j4']);
    const second = jobs.list({ limit: 2, cursor: first.next_cursor! });
    expect(second.jobs.map((j) => j.job_id)).toEqual(['j3', 'j2']);
    expect(jobs.list({ limit: 2, cursor: second.next_cursor! })).toMatchObject({ jobs: [{ job_id: 'j1' }], next_cursor: null });
    expect(jobs.list({ limit: 10, status: 'running' }).jobs.map((j) => j.job_id)).toEqual(['j1']);
  });
});

describe('job retention', () => {
  const DAY = 24 * 3_600_000;

  it('deletes finished jobs (attempts and answers too) and conversation messages past the age, never pending ones', () => {
    jobs.submit('old-done', request(), NOW - 40 * DAY);
    start('old-done', NOW - 40 * DAY);
    jobs.finishAttempt('old-done', 1, { outcome: 'done', httpStatus: 200, body: 'answer' }, NOW - 40 * DAY);
    jobs.submit('old-pending', request({ client_id: 'b' }), NOW - 40 * DAY);
    jobs.submit('new-done', request({ client_id: 'c' }), NOW - DAY);
    start('new-done', NOW - DAY);
    jobs.finishAttempt('new-done', 1, { outcome: 'done', httpStatus: 200, body: 'answer' }, NOW - DAY);
    conversations.ensure('conv', 'mock', 'default', NOW - 40 * DAY);
    conversations.addMessage('conv', 'user', 'old', NOW - 40 * DAY);
    expect(jobs.prune(NOW, 30 * DAY, 1024 ** 3)).toEqual({ deletedJobs: 1, deletedMessages: 1 });
    expect(jobs.get('old-done')).toBeNull();
    expect(jobs.get('old-pending')?.status).toBe('pending');
    expect(jobs.get('new-done')?.result?.body).toBe('answer');
    const left = db().sqlite.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM job_attempts WHERE job_id = 'old-done'").get();
    expect(left?.n).toBe(0);
  });

  it('deletes the oldest finished jobs until the DB fits its size cap', () => {
    const big = new JobStore(db().sqlite, conversations, { resultMaxBytes: 64 * 1024 });
    for (let i = 0; i < 40; i++) {
      big.submit(`j${i}`, request({ client_id: `c${i}` }), NOW + i);
      big.startAttempt(`j${i}`, NOW + i, (n) => attemptRequestId(`j${i}`, n));
      big.finishAttempt(`j${i}`, 1, { outcome: 'done', httpStatus: 200, body: 'x'.repeat(60_000) }, NOW + i);
    }
    const { deletedJobs } = big.prune(NOW + 100, 30 * DAY, 1024 * 1024);
    expect(deletedJobs).toBeGreaterThan(20);
    expect(big.get('j0')).toBeNull();
    expect(big.get('j39')?.status).toBe('done');
  });
});

describe('restart recovery of jobs', () => {
  const recover = () => runRecovery(db().sqlite, { now: () => NOW + 100, monotonicMs: () => 0, renewalRecoveryDelayMs: 60_000 });

  it('requeues a running job no earlier than the delay, counting the attempt as interrupted, and fails on_interrupt: fail', () => {
    jobs.submit('retry', request({ conversation_id: 'conv' }), NOW);
    jobs.submit('fail', request({ client_id: 'b', on_interrupt: 'fail' }), NOW);
    jobs.submit('spent', request({ client_id: 'c', max_attempts: 1 }), NOW);
    for (const id of ['retry', 'fail', 'spent']) start(id);
    expect(recover()).toMatchObject({ requeuedJobCount: 1, failedJobCount: 2, recoveredExecutionStateCount: 1 });
    expect(jobs.get('retry')).toMatchObject({ status: 'pending', attempt_count: 1, next_attempt_at: NOW + 100 + 60_000, last_error: { code: 'interrupted' } });
    expect(jobs.get('retry')?.attempts).toMatchObject([{ outcome: 'interrupted' }]);
    expect(jobs.get('fail')).toMatchObject({ status: 'failed', attempt_count: 1, last_error: { code: 'interrupted' } });
    expect(jobs.get('spent')).toMatchObject({ status: 'failed' });
    expect(conversations.get('conv')?.executionState).toBe('idle');
  });
});
