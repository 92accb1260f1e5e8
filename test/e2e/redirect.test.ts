import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConductorClient } from '../../client/client.js';
import { TEST_PLATFORM } from '../../shared/platforms.js';
import type { RelayRequestInput } from '../../shared/relay.js';
import { ConductorRig } from '../helpers/conductor-rig.js';
import { e2ePolicy } from './e2e-policy.js';
import { e2eFirefox } from './gate.js';
import { MOCK_CHAT_PATH, MockPlatform } from './mock-platform.js';

const firefox = e2eFirefox();
/** Above the harness's own bounded waits, so a stuck step fails with their message, not a bare timeout. */
const STEP_TIMEOUT_MS = 90_000;
const CLIENT = 'e2e-redirect';

/** A "simple" cross-origin request (text/plain, no preflight): a followed redirect would deliver its body. */
function chat(extra: Partial<RelayRequestInput> = {}): RelayRequestInput {
  return { requestId: randomUUID(), platform: TEST_PLATFORM, clientId: CLIENT, method: 'POST', path: MOCK_CHAT_PATH, headers: { 'content-type': 'text/plain' }, body: '{"prompt":"secret"}', ...extra };
}

// "Requests go only to the platform you named": a platform page that answers with a redirect
// to another origin (an open redirect) must not carry the caller's body there.
describe.skipIf(firefox === null)('redirects never leave the platform (real Firefox)', { timeout: STEP_TIMEOUT_MS }, () => {
  let mock: MockPlatform;
  /** Another loopback origin (another port): where an open redirect would take the request. */
  let elsewhere: MockPlatform;
  let rig: ConductorRig;
  let api: ConductorClient;

  beforeAll(async () => {
    [mock, elsewhere] = await Promise.all([MockPlatform.start(), MockPlatform.start()]);
    rig = await ConductorRig.start({ firefox: firefox as string, policy: e2ePolicy(10) });
    await rig.openTab(mock.pageUrl);
    api = await rig.readyClient(TEST_PLATFORM);
  });

  afterAll(async () => {
    await rig?.dispose();
    await Promise.all([mock?.close(), elsewhere?.close()]);
  });

  it.each([307, 308, 302])('refuses a %i to another origin with cross_origin_redirect; nothing reaches it, nothing is counted', async (status) => {
    mock.enqueue({ kind: 'redirect', status, location: `${elsewhere.origin}${MOCK_CHAT_PATH}` });
    const before = mock.requests.length;

    const outcome = await api.relay(chat()).catch((err: unknown) => err);

    // The other origin saw nothing, not even a GET; the platform saw the request once.
    expect(elsewhere.requests).toEqual([]);
    expect(mock.requests.length).toBe(before + 1);
    expect(outcome).toMatchObject({ code: 'cross_origin_redirect' });
    const target = (await api.browser()).targets.find((t) => t.clientId === CLIENT);
    expect(target).toMatchObject({ consecutiveFailures: 0, circuitState: 'closed', lastError: null });
  });

  it('follows no same-origin redirect either: Firefox hides the target, so the page cannot tell', async () => {
    mock.enqueue({ kind: 'redirect', status: 307, location: MOCK_CHAT_PATH });
    const before = mock.requests.length;

    await expect(api.relay(chat())).rejects.toMatchObject({ code: 'cross_origin_redirect' });

    expect(mock.requests.length).toBe(before + 1);
  });

  it('still relays the next request normally', async () => {
    mock.enqueue({ kind: 'json', body: { reply: 'after the redirect' } });
    const response = await api.relay(chat());
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body ?? 'null')).toEqual({ reply: 'after the redirect' });
    expect(elsewhere.requests).toEqual([]);
  });
});
