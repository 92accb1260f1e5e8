import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirefoxSession, WINDOW_SIZE } from '../helpers/firefox.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';
import { e2eFirefox } from './gate.js';
import { MOCK_CHAT_PATH, MockPlatform } from './mock-platform.js';

const firefox = e2eFirefox();
const PROBE_ADDON = join(REPO_ROOT, 'test/e2e/fixtures/probe-addon');
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// The harness and the Firefox facts the scenarios stand on, proven with a stand-in add-on, so
// a scenario failure points at the product, not at the harness.
describe.skipIf(firefox === null)('Firefox harness (real Firefox, stand-in add-on)', { timeout: 60_000 }, () => {
  let mock: MockPlatform;
  let root: string;
  let session: FirefoxSession;

  beforeAll(async () => {
    mock = await MockPlatform.start();
    root = await mkdtemp(join(tmpdir(), 'conductor-fx-harness-'));
    await Promise.all([mkdir(join(root, 'home')), mkdir(join(root, 'profile'))]);
    session = await FirefoxSession.launch({
      executablePath: firefox as string,
      home: join(root, 'home'),
      profileDir: join(root, 'profile'),
      extensionDir: PROBE_ADDON,
      env: {},
      dumpio: false,
    });
  });

  afterAll(async () => {
    await session?.close();
    await mock?.close();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('finds the tab the add-on opened on its own page, and storage.local survives a restart', async () => {
    await session.setStorage({ probe: 'kept' });
    await session.restart();
    await waitFor('the restarted popup to show the stored item', async () => ((await session.popupText()).includes('"probe":"kept"') ? true : undefined), 10_000);
  });

  it("sends a content script's fetch as the page: the page's cookie and origin, not the add-on's", async () => {
    await session.openTab(mock.pageUrl);
    const seen = await waitFor('the stand-in content script to call the mock', () => mock.requests[0], 10_000);
    expect(seen).toMatchObject({ method: 'POST', path: MOCK_CHAT_PATH, body: 'from-content-script', origin: mock.origin, referer: mock.pageUrl });
    expect(seen.cookie?.split('; ')).toContain(`session=${mock.sessionId}`);
  });

  it('saves a PNG screenshot of the popup, popup-wide from the window size alone (no emulation command)', async () => {
    const path = join(root, 'popup.png') as `${string}.png`;
    await session.screenshotPopup(path);
    const png = await readFile(path);
    expect(png.subarray(0, PNG_MAGIC.length)).toEqual(PNG_MAGIC);
    // The IHDR chunk's width, right after the magic, the chunk length and its type.
    expect(png.readUInt32BE(16)).toBe(WINDOW_SIZE.width);
  });
});
