import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConductorClient } from '../../client/client.js';
import { type ConductorError, isConductorError } from '../../shared/errors.js';
import { DEFAULT_CONTAINER, TEST_PLATFORM } from '../../shared/platforms.js';
import type { RelayRequestInput } from '../../shared/relay.js';
import { ConductorRig } from '../helpers/conductor-rig.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';
import { e2ePolicy } from './e2e-policy.js';
import { e2eFirefox } from './gate.js';
import { MOCK_CHAT_PATH, MockPlatform } from './mock-platform.js';

const firefox = e2eFirefox();
/** Above the harness's own bounded waits, so a stuck step fails with their message, not a bare timeout. */
const STEP_TIMEOUT_MS = 90_000;

/** The client whose failures open its account's circuit on the mock platform; the story follows it through restarts. */
const FAILING = 'e2e-circuit';
/** The request of another client of the account that hangs in flight until the host is killed. */
const SLOW_ID = 'e2e-slow-1';
/** The slow stream and three failures: the rate window is exactly full at the restart. */
const DISPATCHES_BEFORE_RESTART = 4;
/** The popup's head line of the account (platform · container). */
const ACCOUNT_ROW = `${TEST_PLATFORM} · ${DEFAULT_CONTAINER}`;
const SCREENSHOT = `${REPO_ROOT}/test-artifacts/popup-circuit-open.png` as const;

/** How the popup may say the host is not there: Firefox's reason or the add-on's own words. */
const HOST_MISSING = /no such native application|host (is )?(not (found|registered|installed|connected)|missing)/i;
/** A countdown as a person reads it: 4:59, 299 s, 5 min. */
const COUNTDOWN = /\b\d+:\d{2}\b|\b\d+\s?(s|sec|min|m)\b/;

/**
 * A chat request to the mock. It may wait out the sub-second backoff between failures, but a
 * full rate window (minutes) rejects it at once instead of stalling the suite.
 */
function chat(clientId: string, extra: Partial<RelayRequestInput> = {}): RelayRequestInput {
  return { requestId: randomUUID(), platform: TEST_PLATFORM, clientId, method: 'POST', path: MOCK_CHAT_PATH, body: '{}', maxWaitMs: 5_000, ...extra };
}

/** The popup's line holding `needle` (an account's head line), or '' when it shows none. */
function popupRow(text: string, needle: string): string {
  return text.split('\n').find((line) => line.includes(needle)) ?? '';
}

/** The ConductorError a call rejected with; fails the test when it resolved or threw something else. */
async function rejection(call: Promise<unknown>): Promise<ConductorError> {
  const outcome = await call.then(
    (value) => new Error(`expected a ConductorError, got a response: ${JSON.stringify(value)}`),
    (err: unknown) => err,
  );
  if (!isConductorError(outcome)) throw outcome instanceof Error ? outcome : new Error(String(outcome));
  return outcome;
}

function retryAfterMs(err: ConductorError): number {
  const value = err.details?.['retry_after_ms'];
  if (typeof value !== 'number') throw new Error(`${err.code} carries no numeric details.retry_after_ms: ${JSON.stringify(err.details)}`);
  return value;
}

// One story in order: each step starts from the state the one before left, so when a step
// fails the later ones fail too; the first failure is the one to read.
describe.skipIf(firefox === null)('circuit, host kill, restart and host loss (real Firefox)', { timeout: STEP_TIMEOUT_MS }, () => {
  let mock: MockPlatform;
  let rig: ConductorRig;
  let api: ConductorClient;
  let slowOutcome: Promise<string>;

  beforeAll(async () => {
    mock = await MockPlatform.start();
    rig = await ConductorRig.start({ firefox: firefox as string, policy: e2ePolicy(DISPATCHES_BEFORE_RESTART) });
    await rig.openTab(mock.pageUrl);
    api = await rig.readyClient(TEST_PLATFORM);
  });

  afterAll(async () => {
    await rig?.dispose();
    await mock?.close();
  });

  it('opens the account circuit after upstream 500s and a 429 with Retry-After, learns a pace from the 429, and the popup shows both', async () => {
    // A streamed request of another client of the same account hangs in flight through the story.
    mock.enqueue({ kind: 'stream', chunks: ['partial'], gapMs: 10, hang: true }, { kind: 'error', status: 500 }, { kind: 'error', status: 500 }, { kind: 'error', status: 429, retryAfterS: 120 });
    // Settled into a value at once, so its rejection is never an unhandled one.
    slowOutcome = api.relayStream(chat('e2e-slow', { requestId: SLOW_ID, stream: true }), () => undefined).then(
      () => 'answered',
      () => 'failed',
    );
    await waitFor('the slow streamed request to reach the mock platform', () => (mock.requests.length === 1 ? true : undefined), 10_000);

    expect((await rejection(api.relay(chat(FAILING)))).code).toBe('upstream_5xx');
    expect((await rejection(api.relay(chat(FAILING)))).code).toBe('upstream_5xx');
    expect((await rejection(api.relay(chat(FAILING)))).code).toBe('upstream_429');
    const open = await rejection(api.relay(chat(FAILING)));
    expect(open.code).toBe('circuit_open');
    expect(retryAfterMs(open)).toBeGreaterThan(0);
    // The circuit is the account's: another client id of it cannot escape it.
    expect((await rejection(api.relay(chat('e2e-other')))).code).toBe('circuit_open');
    expect(mock.requests).toHaveLength(DISPATCHES_BEFORE_RESTART); // the circuit kept the others away from the platform

    const account = (await api.browser()).accounts.find((a) => a.platform === TEST_PLATFORM && a.container === DEFAULT_CONTAINER);
    expect(account).toMatchObject({ circuitState: 'open', clients: expect.arrayContaining([FAILING, 'e2e-slow']), pace: { lastCutReason: 'upstream_429' } });
    expect(account?.pace.intervalMs).toBeGreaterThan(0);

    await waitFor('the popup to show the account circuit open with a countdown, and the learned pace', async () => {
      const text = await rig.firefox.popupText();
      const row = popupRow(text, ACCOUNT_ROW);
      return /\bopen\b/i.test(row) && COUNTDOWN.test(row) && /learned from a 429/.test(text) ? row : undefined;
    }, 10_000);
    await mkdir(`${REPO_ROOT}/test-artifacts`, { recursive: true });
    await rig.firefox.screenshotPopup(SCREENSHOT);
  });

  it('keeps the open circuit, the window, the learned pace and the interrupted request across a host SIGKILL and a Firefox restart', async () => {
    const beforeKill = (await api.browser()).accounts.find((a) => a.platform === TEST_PLATFORM && a.container === DEFAULT_CONTAINER);
    const paceBeforeKill = beforeKill?.pace;

    await rig.killHost();
    // The client's connection died with the host, so the request cannot have been answered.
    expect(await slowOutcome).toBe('failed');

    await rig.restartFirefox();
    api = await rig.readyClient(TEST_PLATFORM);

    const stillOpen = await rejection(api.relay(chat(FAILING)));
    expect(stillOpen.code).toBe('circuit_open');
    expect(retryAfterMs(stillOpen)).toBeGreaterThan(0);

    // The circuit keeps its deadline (retry hints are jittered, the deadline is not); the window is
    // still full from the dispatches before the restart, and the learned pace is kept.
    const account = (await api.browser()).accounts.find((a) => a.platform === TEST_PLATFORM && a.container === DEFAULT_CONTAINER);
    expect(beforeKill?.circuitRetryAt).toBeGreaterThan(0);
    expect(account?.circuitRetryAt).toBe(beforeKill?.circuitRetryAt);
    expect(account?.recentDispatchCount).toBe(DISPATCHES_BEFORE_RESTART);
    expect(account?.pace).toEqual(paceBeforeKill);

    const journal = await api.journal({ limit: 50 });
    expect(journal.find((e) => e.requestId === SLOW_ID)?.outcome).toBe('interrupted');
    expect(mock.requests).toHaveLength(DISPATCHES_BEFORE_RESTART);
  });

  it('enforces from storage.local without the host, says why, and recovers when the host is registered again', async () => {
    await rig.unregisterHost();
    await rig.restartFirefox();

    // Firefox's own words for a missing manifest are "No such native application conductor_fx".
    await waitFor('the popup to show the host missing (and why) with the circuit still open', async () => {
      const text = await rig.firefox.popupText();
      const open = /\bopen\b/i.test(popupRow(text, ACCOUNT_ROW));
      return open && HOST_MISSING.test(text) ? text : undefined;
    }, 15_000);

    await rig.registerHost();
    // The add-on finds the host again on its own reconnect backoff; nothing is restarted.
    api = await rig.readyClient(TEST_PLATFORM);
    const account = (await api.browser()).accounts.find((a) => a.platform === TEST_PLATFORM && a.container === DEFAULT_CONTAINER);
    expect(account?.circuitState).toBe('open');
    expect((await rejection(api.relay(chat(FAILING)))).code).toBe('circuit_open');
  });
});
