import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { DEFAULT_EXTENSION_ID } from '../../scripts/install-host/manifest.js';
import { waitFor } from './wait.js';

/** Where Debian/Ubuntu's firefox-esr package puts the browser. */
const DEFAULT_FIREFOX = '/usr/bin/firefox-esr';

/**
 * A fixed moz-extension:// UUID for the add-on, so its pages have a known origin and the
 * popup tab can be told apart from every other tab.
 */
const EXTENSION_UUID = '6f1c2a9e-0c4d-4f7b-9a51-3e2d8b7c1f00';

/** Where the add-on's popup page lives in the sessions this module starts (popup/ in the build). */
const POPUP_URL_PREFIX = `moz-extension://${EXTENSION_UUID}/popup/`;

/** How long the add-on gets to open its popup tab after Firefox starts. */
const POPUP_TAB_TIMEOUT_MS = 15_000;

// Evaluated inside the page, written as expressions: this package is typed for Node, not the DOM.
const PAGE_LOCATION = 'location.href';
const PAGE_TEXT = 'document.body.innerText';

/**
 * Firefox's window size: its narrowest window, about what Firefox gives an action popup, so the popup tab's screenshot
 * looks like the popup (a full-width tab would mostly show blank space). Set by a command-line
 * flag, not by puppeteer's page.setViewport, which also sends `emulation.setScreenOrientationOverride`:
 * a command ESR 140, the oldest Firefox we support, refuses.
 */
export const WINDOW_SIZE = { width: 500, height: 640 };

/** Firefox to drive: $CONDUCTOR_FX_FIREFOX, else firefox-esr; null when that file is not executable. */
export function findFirefox(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidate = env['CONDUCTOR_FX_FIREFOX'] || DEFAULT_FIREFOX;
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return null;
  }
}

/** What a headless Firefox session runs with; kept so a restart reuses exactly the same. */
export interface FirefoxOptions {
  executablePath: string;
  /** HOME for Firefox and the native host it starts: the host registration is looked up under it. */
  home: string;
  /** The profile; it persists across restart() so storage.local survives like on a desktop. */
  profileDir: string;
  /** The unpacked add-on (dist/extension-test). */
  extensionDir: string;
  /** More environment for Firefox, which passes its environment on to the native host. */
  env: Record<string, string>;
  /** Pipe Firefox's (and so the host's) stdout/stderr into this process, for debugging. */
  dumpio: boolean;
  /** Receives everything Firefox (and the native host, which shares its stderr) prints. */
  onOutput?: (text: string) => void;
}

/**
 * One headless Firefox ESR with the add-on loaded, driven over WebDriver BiDi. The add-on is
 * installed as a temporary add-on on every launch; the prefs below keep its UUID and its
 * storage.local across those reinstalls, so a restart behaves like a desktop restart.
 */
export class FirefoxSession {
  private constructor(
    private readonly options: FirefoxOptions,
    private current: Browser,
  ) {}

  /** Starts Firefox with the add-on installed. */
  static async launch(options: FirefoxOptions): Promise<FirefoxSession> {
    return new FirefoxSession(options, await startBrowser(options));
  }

  /** Opens a new tab on `url` and waits for it to load. */
  async openTab(url: string): Promise<Page> {
    const page = await this.current.newPage();
    await page.goto(url, { waitUntil: 'load' });
    return page;
  }

  /**
   * The tab the test build's background opens on the popup page at startup. BiDi cannot
   * navigate to moz-extension:// itself, and page.url() of that tab may read about:blank, so
   * each tab is asked for its own location.
   */
  async popup(): Promise<Page> {
    return waitFor(
      `the add-on to open its popup tab (${POPUP_URL_PREFIX}…)`,
      async () => {
        for (const page of await this.current.pages()) {
          const href = String(await page.evaluate(PAGE_LOCATION).catch(() => ''));
          if (href.startsWith(POPUP_URL_PREFIX)) return page;
        }
        return undefined;
      },
      POPUP_TAB_TIMEOUT_MS,
    );
  }

  /** What the popup tab shows, as the user reads it (rows on their own lines). */
  async popupText(): Promise<string> {
    const popup = await this.popup();
    return String(await popup.evaluate(PAGE_TEXT));
  }

  /** Writes items into the add-on's storage.local, from its popup page (which has the add-on's privileges). */
  async setStorage(items: Record<string, unknown>): Promise<void> {
    const popup = await this.popup();
    await popup.evaluate(`browser.storage.local.set(${JSON.stringify(items)})`);
  }

  /** Saves a PNG of the popup tab, at the window's width (about the width Firefox gives an action popup). */
  async screenshotPopup(path: `${string}.png`): Promise<void> {
    const popup = await this.popup();
    await popup.bringToFront();
    await popup.screenshot({ path, fullPage: true });
  }

  /** Closes Firefox and starts it again on the same profile, home and environment. */
  async restart(): Promise<void> {
    await this.current.close();
    this.current = await startBrowser(this.options);
  }

  /** The pid of the Firefox parent process (its content processes and the native host are its descendants). */
  pid(): number {
    const pid = this.current.process()?.pid;
    if (pid === undefined) throw new Error('Firefox was not started by this session: no pid');
    return pid;
  }

  /**
   * Kills Firefox's main process with SIGKILL, as a crash or the OOM killer would (nothing is
   * closed cleanly), and waits until it has exited; returns its pid. Start it again with relaunch().
   */
  async crash(): Promise<number> {
    const proc = this.current.process();
    if (proc === null || proc.pid === undefined) throw new Error('this Firefox session has no process to kill');
    const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
    return proc.pid;
  }

  /** Starts Firefox again on the same profile, home and environment after crash(). */
  async relaunch(): Promise<void> {
    this.current = await startBrowser(this.options);
  }

  /** Closes Firefox (which closes the native host's stdin, so the host exits too). */
  async close(): Promise<void> {
    await this.current.close();
  }
}

async function startBrowser(options: FirefoxOptions): Promise<Browser> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: options.executablePath,
    headless: true,
    userDataDir: options.profileDir,
    env: { ...process.env, ...options.env, HOME: options.home, MOZ_HEADLESS: '1' },
    enableExtensions: [options.extensionDir],
    dumpio: options.dumpio,
    // Headless Firefox's own size flags (its --window-size is not honoured here).
    args: ['-width', String(WINDOW_SIZE.width), '-height', String(WINDOW_SIZE.height)],
    // Tabs keep the window's size: puppeteer's default (an emulated 800×600 on each new tab) sends
    // the same emulation command ESR 140 refuses.
    defaultViewport: null,
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [DEFAULT_EXTENSION_ID]: EXTENSION_UUID }),
      // A temporary add-on is uninstalled when Firefox quits; keep what a real install keeps.
      'extensions.webextensions.keepStorageOnUninstall': true,
      'extensions.webextensions.keepUuidOnUninstall': true,
      // Print the console API calls of Firefox and of the add-on's pages on stdout, so captured output holds them.
      ...(options.dumpio || options.onOutput !== undefined ? { 'devtools.console.stdout.chrome': true, 'devtools.console.stdout.content': true } : {}),
    },
  });
  const { onOutput } = options;
  const proc = browser.process();
  if (onOutput !== undefined && proc !== null) {
    for (const stream of [proc.stdout, proc.stderr]) stream?.on('data', (data: Buffer) => onOutput(data.toString('utf8')));
  }
  return browser;
}
