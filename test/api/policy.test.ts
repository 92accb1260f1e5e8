// policy.json against the real host with the fake add-on: read at start, on each hello and on POST /v1/policy/reload.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiPolicyReloadResponseSchema } from '../../shared/api.js';
import type { PolicyFileState } from '../../shared/policy-config.js';
import { ensureHostBuilt, startHost, type HostHandle } from '../helpers/host-process.js';
import { type ApiHost, startApiHost } from './api-host.js';
import { errorCode, rawRequest } from './http.js';

describe('policy.json and POST /v1/policy/reload (real host, fake add-on)', () => {
  let h: ApiHost;
  const configured: PolicyFileState[] = [];
  let applies = true;

  beforeAll(async () => {
    h = await startApiHost({
      'policy.configure': (policy) => {
        configured.push(policy);
        return { applied: applies };
      },
    });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });
  afterEach(() => {
    configured.length = 0;
    rmSync(join(h.host.dataDir, 'policy.json'), { force: true });
  });

  const reload = () => rawRequest({ port: h.port, method: 'POST', path: '/v1/policy/reload', headers: h.auth });

  it('a valid file is re-read and sent to the add-on with policy.configure; the answer says it was applied', async () => {
    const source = join(h.host.dataDir, 'policy.json');
    writeFileSync(source, '{"rateLimit": {"requestsPerMinutePerPlatform": 4}}');
    expect(await h.client.reloadPolicy()).toEqual({ applied: true, source, error: null });
    expect(configured).toEqual([{ config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source, error: null }]);
    expect((await h.host.request('status.get', {})).policy).toEqual({ config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source, error: null });
  });

  it('an invalid file is refused with 400 bad_payload naming the field path; the add-on is told, nothing is applied', async () => {
    writeFileSync(join(h.host.dataDir, 'policy.json'), '{"rateLimit": {"requestsPerMinutePerPlatform": 0}}');
    const answer = await reload();
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_payload');
    const error = (JSON.parse(answer.body) as { error: { message: string; details: { issues: { path: string; message: string }[] } } }).error;
    expect(error.message).toContain('rateLimit.requestsPerMinutePerPlatform');
    expect(error.details.issues.map((i) => i.path)).toEqual(['rateLimit.requestsPerMinutePerPlatform']);
    // The built host keeps zod's English messages (the build leaves the other locales out).
    expect(error.details.issues[0]?.message).toBe('Too small: expected number to be >=1');
    expect(configured).toHaveLength(1);
    expect(configured[0]).toMatchObject({ config: null, error: expect.stringMatching(/^rateLimit\.requestsPerMinutePerPlatform: /) });
    await h.host.waitForStderr('policy.json refused');
  });

  it('a missing file means the defaults: a null config, no source', async () => {
    const answer = await reload();
    expect(answer.status).toBe(200);
    expect(ApiPolicyReloadResponseSchema.parse(JSON.parse(answer.body))).toEqual({ applied: true, source: null, error: null });
    expect(configured).toEqual([{ config: null, source: null, error: null }]);
  });

  it('passes on an add-on that did not apply it (applied: false)', async () => {
    applies = false;
    try {
      expect((await h.client.reloadPolicy()).applied).toBe(false);
    } finally {
      applies = true;
    }
  });

  it('each hello carries the file as it is now', async () => {
    writeFileSync(join(h.host.dataDir, 'policy.json'), '{"concurrency": {"maxInFlightPerTarget": 2}}');
    expect((await h.host.hello()).policy).toMatchObject({ config: { concurrency: { maxInFlightPerTarget: 2 } }, error: null });
    writeFileSync(join(h.host.dataDir, 'policy.json'), 'not json');
    expect((await h.host.hello()).policy).toMatchObject({ config: null, error: expect.stringMatching(/^is not JSON: /) });
  });

  it('a file refused for hundreds of fields still lets the add-on say hello (the error is cut to fit the answer)', async () => {
    const platforms = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, { requestsPerMinutePerPlatform: 0 }]));
    writeFileSync(join(h.host.dataDir, 'policy.json'), JSON.stringify({ platformRateLimits: platforms }));
    expect((await h.host.hello()).policy).toMatchObject({ config: null, error: expect.stringMatching(/^platformRateLimits\.p0\./) });
    const answer = await reload();
    expect(answer.status).toBe(400);
    expect((JSON.parse(answer.body) as { error: { details: { issues: unknown[] } } }).error.details.issues).toHaveLength(300);
  });
});

describe('policy.json at host start', () => {
  let host: HostHandle | null = null;
  const dataDir = mkdtempSync(join(tmpdir(), 'cfx-policy-start-'));
  afterAll(async () => {
    await host?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is read at start (HostStatus) and refused with its field path; POST /v1/policy/reload answers 503 without an add-on', async () => {
    await ensureHostBuilt();
    writeFileSync(join(dataDir, 'policy.json'), '{"jitter": {"minMs": 9000, "maxMs": 10}}');
    host = startHost({ dataDir });
    const status = await host.request('status.get', {});
    expect(status.policy).toEqual({ config: null, source: join(dataDir, 'policy.json'), error: 'jitter.minMs: jitter.minMs must not exceed jitter.maxMs' });
    await host.waitForStderr('policy.json refused');
    writeFileSync(join(dataDir, 'policy.json'), '{}');
    const port = status.api.port as number;
    const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim();
    const answer = await rawRequest({ port, method: 'POST', path: '/v1/policy/reload', headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(503);
    expect(errorCode(answer)).toBe('extension_unavailable');
  });
});
