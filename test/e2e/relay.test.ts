import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConductorClient } from '../../client/client.js';
import { TEST_PLATFORM } from '../../shared/platforms.js';
import { ConductorRig } from '../helpers/conductor-rig.js';
import { e2ePolicy } from './e2e-policy.js';
import { e2eFirefox } from './gate.js';
import { MOCK_CHAT_PATH, MockPlatform } from './mock-platform.js';

const firefox = e2eFirefox();
/** Above the harness's own bounded waits, so a stuck step fails with their message, not a bare timeout. */
const STEP_TIMEOUT_MS = 90_000;

describe.skipIf(firefox === null)('relay through the logged-in page (real Firefox)', { timeout: STEP_TIMEOUT_MS }, () => {
  let mock: MockPlatform;
  let rig: ConductorRig;
  let api: ConductorClient;

  beforeAll(async () => {
    mock = await MockPlatform.start();
    rig = await ConductorRig.start({ firefox: firefox as string, policy: e2ePolicy(10) });
    await rig.openTab(mock.pageUrl);
    api = await rig.readyClient(TEST_PLATFORM);
  });

  afterAll(async () => {
    await rig?.dispose();
    await mock?.close();
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
});
