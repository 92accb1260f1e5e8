// Durable jobs across host deaths: the real host is SIGKILLed mid-attempt and started again on
// the same data dir; restart recovery and the dispatcher must resume every job exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConductorClient } from '../../client/client.js';
import type { ApiJobDetail } from '../../shared/jobs.js';
import type { RelayRequest, RelayResponse } from '../../shared/relay.js';
import { type HostHandle, ensureHostBuilt, startHost } from '../helpers/host-process.js';
import { waitFor } from '../helpers/wait.js';
import { defaultHandlers, echoResponse } from './api-host.js';

const RECOVERY_DELAY_MS = 1_500;

/** A host on `dataDir` with the fake add-on answering relays with `relay`, connected, and a client of its API. */
async function boot(dataDir: string, relay: (request: RelayRequest) => Promise<RelayResponse>, recoveryDelayMs: number) {
  const host = startHost({ dataDir, env: { CONDUCTOR_FX_RENEWAL_RECOVERY_DELAY_MS: String(recoveryDelayMs) }, handlers: { ...defaultHandlers(), 'relay.request': relay } });
  const hello = await host.hello();
  const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim();
  return { host, hello, client: new ConductorClient({ baseUrl: `http://127.0.0.1:${host.apiPort()}`, token }) };
}

const never = () => new Promise<RelayResponse>(() => undefined);
const jobIdOf = (requestId: string) => requestId.slice(0, requestId.lastIndexOf('.'));

describe('jobs across host restarts (real host, SIGKILL)', () => {
  const hosts: HostHandle[] = [];
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfx-jobs-restart-'));
    dirs.push(dir);
    return dir;
  };
  beforeAll(ensureHostBuilt);
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.dispose();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function killDuringAttempt(onInterrupt: 'retry' | 'fail') {
    const dir = dataDir();
    const firstSeen: string[] = [];
    const first = await boot(dir, (r) => (firstSeen.push(r.requestId), never()), RECOVERY_DELAY_MS);
    hosts.push(first.host);
    const { job_id } = await first.client.submitJob({ platform: 'mock', method: 'POST', path: '/long', body: 'work', on_interrupt: onInterrupt });
    await waitFor('the attempt to reach the add-on', () => (firstSeen.length === 1 ? true : undefined), 10_000);
    first.host.kill('SIGKILL');
    await first.host.exited;

    const secondSeen: { requestId: string; at: number }[] = [];
    const second = await boot(dir, async (r) => (secondSeen.push({ requestId: r.requestId, at: Date.now() }), echoResponse(r)), RECOVERY_DELAY_MS);
    hosts.push(second.host);
    return { job_id, firstSeen, second, secondSeen };
  }

  it('gives a job killed mid-attempt exactly one new attempt, at or after the recovery delay', async () => {
    const { job_id, firstSeen, second, secondSeen } = await killDuringAttempt('retry');
    expect(firstSeen).toEqual([`${job_id}.1`]);
    expect(second.hello.recovery).toMatchObject({ requeuedJobCount: 1, failedJobCount: 0 });
    const job = await waitFor('the job to finish', async () => {
      const j = await second.client.job(job_id);
      return j.status === 'done' ? j : undefined;
    }, 15_000);
    expect(job.attempts.map((a) => a.outcome)).toEqual(['interrupted', 'done']);
    expect(job.attempt_count).toBe(2);
    expect(secondSeen.map((s) => s.requestId)).toEqual([`${job_id}.2`]);
    const recoveredAt = second.hello.recovery.startedAt;
    expect(job.attempts[1]!.started_at).toBeGreaterThanOrEqual(recoveredAt + RECOVERY_DELAY_MS);
    expect(secondSeen[0]!.at).toBeGreaterThanOrEqual(recoveredAt + RECOVERY_DELAY_MS);
  });

  it('fails a job killed mid-attempt that asked on_interrupt: "fail", and never sends it again', async () => {
    const { job_id, second, secondSeen } = await killDuringAttempt('fail');
    expect(second.hello.recovery).toMatchObject({ requeuedJobCount: 0, failedJobCount: 1 });
    expect(await second.client.job(job_id)).toMatchObject({ status: 'failed', attempt_count: 1, last_error: { code: 'interrupted' }, attempts: [{ outcome: 'interrupted' }] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(secondSeen).toEqual([]);
  });

  it('ends every job done or failed, attempts accounted for, none twice in flight, with the host killed again and again', async () => {
    // The full run is 1 000 jobs and 20 kills: CONDUCTOR_FX_JOBS_KILL_RUN=1000x20 (the default keeps `npm test` short).
    const [JOBS, KILLS] = (process.env['CONDUCTOR_FX_JOBS_KILL_RUN'] ?? '120x6').split('x').map(Number) as [number, number];
    const TARGETS = ['k-a', 'k-b', 'k-c', 'k-d'];
    const dir = dataDir();
    /** Every request id any add-on saw, and what is in flight now (a killed host's flights end with it). */
    const seenIds = new Set<string>();
    const violations: string[] = [];
    let inFlight = new Map<string, string>(); // job id → target
    let answerCount = 0;
    const relay = (flights: Map<string, string>) => async (r: RelayRequest): Promise<RelayResponse> => {
      const jobId = jobIdOf(r.requestId);
      if (seenIds.has(r.requestId)) violations.push(`request id ${r.requestId} sent twice`);
      seenIds.add(r.requestId);
      if (flights.has(jobId)) violations.push(`job ${jobId} twice in flight`);
      if ([...flights.values()].includes(r.clientId)) violations.push(`target ${r.clientId} twice in flight`);
      flights.set(jobId, r.clientId);
      await new Promise((resolve) => setTimeout(resolve, 40 + (answerCount++ % 5) * 20));
      flights.delete(jobId);
      return echoResponse(r);
    };

    let current = await boot(dir, relay(inFlight), 200);
    hosts.push(current.host);
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      ids.push((await current.client.submitJob({ platform: 'mock', client_id: TARGETS[i % TARGETS.length], method: 'POST', path: `/job/${i}`, body: String(i), max_attempts: 10 })).job_id);
    }
    for (let kill = 0; kill < KILLS; kill++) {
      // Kill while an attempt is in flight, a little later each time.
      const flights = inFlight;
      await waitFor('an attempt in flight', () => (flights.size > 0 ? true : undefined), 60_000);
      await new Promise((resolve) => setTimeout(resolve, kill * 7));
      current.host.kill('SIGKILL');
      await current.host.exited;
      inFlight = new Map();
      current = await boot(dir, relay(inFlight), 200);
      hosts.push(current.host);
    }
    const client = current.client;
    await waitFor('every job to end', async () => {
      const open = [...(await client.jobs({ status: 'pending', limit: 1 })).jobs, ...(await client.jobs({ status: 'running', limit: 1 })).jobs];
      return open.length === 0 ? true : undefined;
    }, 90_000 + JOBS * 100);

    expect(violations).toEqual([]);
    const details: ApiJobDetail[] = [];
    for (const id of ids) details.push(await client.job(id));
    let interrupted = 0;
    for (const job of details) {
      expect(['done', 'failed']).toContain(job.status);
      expect(job.attempts.every((a) => a.outcome === 'done' || a.outcome === 'interrupted')).toBe(true);
      expect(job.attempts.filter((a) => a.outcome !== 'refused')).toHaveLength(job.attempt_count);
      if (job.status === 'done') expect(job.attempts.at(-1)!.outcome).toBe('done');
      expect(job.attempts.filter((a) => a.outcome === 'done').length).toBeLessThanOrEqual(1);
      interrupted += job.attempts.filter((a) => a.outcome === 'interrupted').length;
      // Every attempt an add-on saw is on record (an attempt killed before it was sent is recorded, not seen).
      const recorded = new Set(job.attempts.map((a) => a.request_id));
      for (const id of seenIds) if (jobIdOf(id) === job.job_id) expect(recorded.has(id)).toBe(true);
    }
    expect(details.filter((j) => j.status === 'done').length).toBe(JOBS);
    // The kills landed mid-attempt.
    expect(interrupted).toBeGreaterThan(0);
  }, 600_000);
});
