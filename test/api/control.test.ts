// Status, journal and control routes against the real host with the fake add-on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiBrowserStatusSchema } from '../../shared/api.js';
import { type ApiHost, journalRow, startApiHost } from './api-host.js';
import { fakeBrowserStatus } from './fakes.js';
import { errorCode, rawRequest } from './http.js';

describe('status, journal and control routes (real host, fake add-on)', () => {
  let h: ApiHost;
  const resets: unknown[] = [];
  const pauses: unknown[] = [];
  let resumes = 0;

  beforeAll(async () => {
    h = await startApiHost({
      'browser.status': () => {
        const status = fakeBrowserStatus();
        status.accounts.push({ ...status.accounts[0]!, platform: 'claude', circuitState: 'open', clients: ['agent-2'] });
        status.targets.push({ ...status.targets[0]!, platform: 'claude', clientId: 'agent-2' });
        return status;
      },
      'control.reset': (payload) => {
        resets.push(payload);
        return { reset: true };
      },
      'control.pause': (payload) => {
        pauses.push(payload);
        return { paused: true as const };
      },
      'control.resume': () => {
        resumes += 1;
        return { paused: false as const };
      },
    });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  it('GET /v1/browser returns the add-on\'s status with the host\'s own', async () => {
    const answer = await rawRequest({ port: h.port, path: '/v1/browser', headers: h.auth });
    expect(answer.status).toBe(200);
    const status = ApiBrowserStatusSchema.parse(JSON.parse(answer.body));
    expect(status.targets.map((t) => t.clientId).sort()).toEqual(['agent-1', 'agent-2']);
    expect(status.hostStatus).toMatchObject({ pid: h.host.pid, dataDir: h.host.dataDir, extensionConnected: true, api: { listening: true, port: h.port, error: null } });
  });

  it('GET /v1/browser?platform= narrows accounts, targets and tabs to one platform; an unknown one is 404', async () => {
    const status = await h.client.browser('claude');
    expect(status.targets.map((t) => t.clientId)).toEqual(['agent-2']);
    expect(status.accounts.map((a) => a.platform)).toEqual(['claude']);
    expect(status.tabs).toEqual([]);
    const unknown = await rawRequest({ port: h.port, path: '/v1/browser?platform=nowhere', headers: h.auth });
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('unknown_platform');
  });

  it('resets a target through control.reset', async () => {
    expect(await h.client.reset('mock', 'agent-1')).toEqual({ reset: true });
    expect(resets).toEqual([{ platform: 'mock', clientId: 'agent-1' }]);
  });

  it('pauses with a reason and resumes', async () => {
    expect(await h.client.pause('maintenance window')).toEqual({ paused: true });
    expect(pauses).toEqual([{ reason: 'maintenance window' }]);
    expect(await h.client.resume()).toEqual({ paused: false });
    expect(resumes).toBe(1);
  });

  it('refuses a pause without a reason with 400 bad_payload', async () => {
    const answer = await rawRequest({ port: h.port, method: 'POST', path: '/v1/system/pause', headers: h.auth, body: '{}' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_payload');
    expect(pauses).toHaveLength(1);
  });

  it('GET /v1/journal lists the journal newest first, limited and filtered by platform', async () => {
    const row = (n: number, platform: string) =>
      journalRow({ requestId: `journal-${n}`, platform, clientId: 'agent-1', method: 'GET', path: `/p${n}` }, { createdAt: 1_700_000_000_000 + n });
    await h.host.request('journal.record', { entries: [row(1, 'mock'), row(2, 'claude'), row(3, 'mock'), row(4, 'mock')] });
    expect((await h.client.journal({ limit: 2 })).map((e) => e.requestId)).toEqual(['journal-4', 'journal-3']);
    expect((await h.client.journal({ limit: 10, platform: 'claude' })).map((e) => e.requestId)).toEqual(['journal-2']);
  });
});
