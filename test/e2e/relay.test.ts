import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConductorClient } from '../../client/client.js';
import { DEFAULT_CONTAINER, TEST_PLATFORM } from '../../shared/platforms.js';
import type { RelayRequestInput } from '../../shared/relay.js';
import { ConductorRig } from '../helpers/conductor-rig.js';
import { e2ePolicy } from './e2e-policy.js';
import { e2eFirefox } from './gate.js';
import { MOCK_CHAT_PATH, MockPlatform } from './mock-platform.js';

const firefox = e2eFirefox();
/** Above the harness's own bounded waits, so a stuck step fails with their message, not a bare timeout. */
const STEP_TIMEOUT_MS = 90_000;
const REDIRECTED = 'e2e-redirect';

/** A "simple" cross-origin request (text/plain, no preflight): a followed redirect would deliver its body. */
function secretChat(): RelayRequestInput {
  return { requestId: randomUUID(), platform: TEST_PLATFORM, clientId: REDIRECTED, method: 'POST', path: MOCK_CHAT_PATH, headers: { 'content-type': 'text/plain' }, body: '{"prompt":"secret"}' };
}

describe.skipIf(firefox === null)('relay through the logged-in page (real Firefox)', { timeout: STEP_TIMEOUT_MS }, () => {
  let mock: MockPlatform;
  /** Another loopback origin (another port): where an open redirect on the platform would lead. */
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

  it('admits a request, sends it as the page (its cookie, its origin) and answers it', async () => {
    mock.enqueue({ kind: 'json', body: { reply: 'hello from the mock' } });
    const prompt = JSON.stringify({ prompt: 'hi' });

    const response = await api.relay({
      platform: TEST_PLATFORM,
      clientId: 'e2e-relay',
      method: 'POST',
      path: MOCK_CHAT_PATH,
      headers: { 'content-type': 'application/json' },
      body: prompt,
    });

    expect(response.status).toBe(200);
    expect(response.admission.admittedAt).toBeGreaterThan(0);
    expect(JSON.parse(response.body ?? 'null')).toEqual({ reply: 'hello from the mock' });
    expect(mock.requests).toHaveLength(1);
    const seen = mock.requests[0];
    expect(seen).toMatchObject({ method: 'POST', path: MOCK_CHAT_PATH, body: prompt, origin: mock.origin, referer: mock.pageUrl });
    // The page's HttpOnly session cookie went along: the request ran as the logged-in page.
    expect(seen?.cookie?.split('; ')).toContain(`session=${mock.sessionId}`);
  });

  it('delivers a streamed answer chunk by chunk, in order', async () => {
    const chunks = ['one', 'two', 'three', 'four'];
    mock.enqueue({ kind: 'stream', chunks, gapMs: 50 });
    const received: string[] = [];

    const response = await api.relayStream(
      { platform: TEST_PLATFORM, clientId: 'e2e-relay', method: 'POST', path: MOCK_CHAT_PATH, body: '{}', stream: true },
      (chunk) => received.push(chunk.data),
    );

    expect(response.status).toBe(200);
    // The mock writes each chunk 50 ms after the last, so a relay that buffered the body would show one piece.
    expect(received.length).toBeGreaterThan(1);
    expect(received.join('')).toBe(chunks.map((c) => `data: ${c}\n\n`).join(''));
  });

  // "Requests go only to the platform you named": a platform page answering with a redirect to
  // another origin (an open redirect) must not carry the caller's body and the cookies there.
  it.each([307, 308, 302])('refuses a %i to another origin with cross_origin_redirect; nothing reaches it, nothing is counted', async (status) => {
    mock.enqueue({ kind: 'redirect', status, location: `${elsewhere.origin}${MOCK_CHAT_PATH}` });
    const before = mock.requests.length;

    const outcome = await api.relay(secretChat()).catch((err: unknown) => err);

    // The other origin saw nothing, not even a GET; the platform saw the request once.
    expect(elsewhere.requests).toEqual([]);
    expect(mock.requests.length).toBe(before + 1);
    expect(outcome).toMatchObject({ code: 'cross_origin_redirect' });
    const browser = await api.browser();
    expect(browser.accounts.find((a) => a.platform === TEST_PLATFORM && a.container === DEFAULT_CONTAINER)).toMatchObject({ consecutiveFailures: 0, circuitState: 'closed', lastError: null });
    expect(browser.targets.find((t) => t.clientId === REDIRECTED)).toMatchObject({ lastError: null });
  });

  it('follows no same-origin redirect either: Firefox hides the target, so the page cannot tell', async () => {
    mock.enqueue({ kind: 'redirect', status: 307, location: MOCK_CHAT_PATH });
    const before = mock.requests.length;

    await expect(api.relay(secretChat())).rejects.toMatchObject({ code: 'cross_origin_redirect' });

    expect(mock.requests.length).toBe(before + 1);
  });

  it('relays the same client normally after the refused redirects', async () => {
    mock.enqueue({ kind: 'json', body: { reply: 'after the redirects' } });
    const response = await api.relay(secretChat());
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body ?? 'null')).toEqual({ reply: 'after the redirects' });
    expect(elsewhere.requests).toEqual([]);
  });
});
