// `npm run demo`: the whole chain on this machine, headless. Builds (the npm script does),
// registers the host into a temp HOME, starts Firefox ESR with the add-on, relays requests
// through a mock platform's page, lets 429s open the circuit, restarts Firefox to show the
// circuit survives, prints the circuit table and saves the popup screenshot.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConductorClient } from '../client/client.js';
import { formatCircuitTable } from '../client/format.js';
import { type ErrorCode, isConductorError } from '../shared/errors.js';
import { TEST_PLATFORM } from '../shared/platforms.js';
import { e2ePolicy } from '../test/e2e/e2e-policy.js';
import { MOCK_CHAT_PATH, MockPlatform } from '../test/e2e/mock-platform.js';
import { ConductorRig } from '../test/helpers/conductor-rig.js';
import { findFirefox } from '../test/helpers/firefox.js';
import { REPO_ROOT } from '../test/helpers/repo.js';
import { waitFor } from '../test/helpers/wait.js';

const OUTPUT_DIR = join(REPO_ROOT, 'demo-output');
const CLIENT_ID = 'demo-agent';
/** Room in the rate window for every request the demo sends, so only the circuit stops them. */
const DEMO_WINDOW = 10;

function step(text: string): void {
  console.log(`\n==> ${text}`);
}

/** Relays one chat request, prints how it ended, and fails the demo when that is not `expected`. */
async function send(api: ConductorClient, label: string, expected: 'ok' | ErrorCode): Promise<void> {
  let outcome: 'ok' | ErrorCode = 'ok';
  try {
    const response = await api.relay({ platform: TEST_PLATFORM, clientId: CLIENT_ID, method: 'POST', path: MOCK_CHAT_PATH, body: '{"prompt":"hi"}', maxWaitMs: 5_000 });
    console.log(`    ${label}: HTTP ${response.status} ${response.body ?? ''}`);
  } catch (err) {
    if (!isConductorError(err)) throw err;
    outcome = err.code;
    const wait = err.details?.['retry_after_ms'];
    console.log(`    ${label}: ${err.code}${typeof wait === 'number' ? ` (retry after ${Math.ceil(wait / 1000)} s)` : ''}`);
  }
  if (outcome !== expected) throw new Error(`${label} ended as ${outcome}, expected ${expected}`);
}

async function printCircuits(api: ConductorClient): Promise<void> {
  console.log(formatCircuitTable(await api.browser()));
}

async function run(firefox: string): Promise<void> {
  step('Starting the mock chat platform on 127.0.0.1');
  const mock = await MockPlatform.start();
  console.log(`    ${mock.pageUrl}`);
  let rig: ConductorRig | undefined;
  try {
    step('Registering the native host into a temporary HOME and starting headless Firefox ESR with the add-on');
    rig = await ConductorRig.start({ firefox, policy: e2ePolicy(DEMO_WINDOW) });
    console.log(`    HOME=${rig.home}\n    data dir=${rig.dataDir}\n    loopback API on 127.0.0.1:${rig.apiPort}`);

    step('Opening the platform page in a tab: its page proxy is what sends the requests');
    await rig.openTab(mock.pageUrl);
    let api = await rig.readyClient(TEST_PLATFORM);

    step('Two requests are admitted and relayed through the page');
    for (const n of [1, 2]) await send(api, `request ${n}`, 'ok');

    step('The platform fails twice (HTTP 500), then answers 429 (Retry-After: 120): three failures open the account circuit, the 429 teaches a pace');
    mock.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 }, { kind: 'error', status: 429, retryAfterS: 120 });
    for (const n of [3, 4]) await send(api, `request ${n}`, 'upstream_5xx');
    await send(api, 'request 5', 'upstream_429');
    await send(api, 'request 6', 'circuit_open');
    await printCircuits(api);

    step('Restarting Firefox on the same profile and data dir');
    await rig.restartFirefox();
    api = await rig.readyClient(TEST_PLATFORM);
    await send(api, 'request 7', 'circuit_open');
    await printCircuits(api);

    step('Saving the popup screenshot');
    // The popup gets pushed updates at most every 250 ms: wait for the reconnected host to show.
    const browser = rig.firefox;
    await waitFor('the popup to show the host connected and the circuit open', async () => {
      const text = await browser.popupText();
      return /\bconnected \(host/.test(text) && /\bopen\b/.test(text) ? true : undefined;
    }, 10_000);
    await mkdir(OUTPUT_DIR, { recursive: true });
    const screenshot = join(OUTPUT_DIR, 'popup.png') as `${string}.png`;
    await browser.screenshotPopup(screenshot);
    console.log(`    ${screenshot}`);
  } finally {
    step('Cleaning up: closing Firefox, removing the temporary HOME, profile and data dir');
    await rig?.dispose();
    await mock.close();
  }
}

const firefox = findFirefox();
if (firefox === null) {
  console.error('demo: Firefox ESR not found at /usr/bin/firefox-esr (install it: sudo apt-get update && sudo apt-get install -y firefox-esr, or set CONDUCTOR_FX_FIREFOX)');
  process.exitCode = 1;
} else {
  run(firefox).then(
    () => console.log('\nDemo finished.'),
    (err: unknown) => {
      console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
