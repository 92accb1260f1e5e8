import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { ConductorClient } from '../../client/client.js';
import type { PolicyConfigInput } from '../../shared/policy-config.js';
import type { BrowserStatus } from '../../shared/status.js';
import { FirefoxSession } from './firefox.js';
import { freePort } from './free-port.js';
import { hostPids } from './host-pids.js';
import { installHost, uninstallHost } from './host-registration.js';
import { distPath } from './repo.js';
import { waitFor } from './wait.js';

/** How long the chain (Firefox → add-on → host → API, and the page proxy) gets to come up. */
const READY_TIMEOUT_MS = 30_000;

/** What a rig is started with. */
export interface RigOptions {
  /** The Firefox executable (see findFirefox). */
  firefox: string;
  /** The policy the add-on runs with (test build only; see TEST_POLICY_KEY); its defaults when absent. */
  policy?: PolicyConfigInput;
  /** A data dir of the caller's (e.g. on a tiny filesystem), kept by dispose(); a fresh one in the rig's temp dir when absent. */
  dataDir?: string;
  /** Receives everything Firefox and the native host print (see FirefoxOptions.onOutput). */
  onOutput?: (text: string) => void;
}

/**
 * The storage.local key the test build's background reads its policy config from at startup
 * (validated with PolicyConfigSchema); the release build never reads it.
 */
const TEST_POLICY_KEY = 'conductorFx.testPolicyConfig';

/**
 * The whole chain on one machine, isolated in a temp dir: a HOME with the host registered by
 * the real installer, a data dir, a Firefox profile with the test build of the add-on, and a
 * free port for the loopback API. Tabs opened through it are reopened after every restart,
 * as a user's pinned platform tab would be.
 */
export class ConductorRig {
  private readonly tabUrls: string[] = [];

  private constructor(
    /** The temp dir everything lives in; removed by dispose(). */
    readonly root: string,
    readonly home: string,
    readonly dataDir: string,
    /** The loopback API port handed to the host through Firefox's environment. */
    readonly apiPort: number,
    readonly firefox: FirefoxSession,
  ) {}

  /** Registers the host in a fresh temp HOME and starts Firefox with the add-on (and the policy, when given). */
  static async start(options: RigOptions): Promise<ConductorRig> {
    const extensionDir = distPath('extension-test');
    if (!existsSync(join(extensionDir, 'manifest.json'))) throw new Error(`${extensionDir} is missing: run \`npm run build\` first`);
    const root = await mkdtemp(join(tmpdir(), 'conductor-fx-e2e-'));
    const home = join(root, 'home');
    const dataDir = options.dataDir ?? join(root, 'data');
    const profileDir = join(root, 'profile');
    let rig: ConductorRig;
    try {
      await Promise.all([mkdir(home), mkdir(dataDir, { recursive: true }), mkdir(profileDir)]);
      await installHost(home, dataDir);
      const apiPort = await freePort();
      const firefox = await FirefoxSession.launch({
        executablePath: options.firefox,
        home,
        profileDir,
        extensionDir,
        // The launcher bakes in only the data dir; Firefox hands its own environment to the host.
        env: { CONDUCTOR_FX_API_PORT: String(apiPort) },
        // The host logs to stderr, which Firefox passes on: CONDUCTOR_FX_E2E_DEBUG=1 shows it.
        dumpio: process.env['CONDUCTOR_FX_E2E_DEBUG'] === '1',
        ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
      });
      rig = new ConductorRig(root, home, dataDir, apiPort, firefox);
    } catch (err) {
      await rm(root, { recursive: true, force: true });
      throw err;
    }
    if (options.policy !== undefined) {
      try {
        await rig.firefox.setStorage({ [TEST_POLICY_KEY]: options.policy });
        // The background reads the policy when it starts; profile and data dir stay as they are.
        await rig.firefox.restart();
      } catch (err) {
        await rig.dispose();
        throw err;
      }
    }
    return rig;
  }

  /** Opens a platform page in a tab (so its page proxy connects), and again after each restart. */
  async openTab(url: string): Promise<Page> {
    const page = await this.firefox.openTab(url);
    this.tabUrls.push(url);
    return page;
  }

  /**
   * A client of the loopback API of the host this Firefox started, once the whole chain is up:
   * the host wrote its token and answers, the add-on is connected to it, and a page proxy of
   * `platform` has registered its tab.
   */
  async readyClient(platform: string): Promise<ConductorClient> {
    const client = await waitFor(
      `the host to write ${join(this.dataDir, 'api-token')}`,
      async () => new ConductorClient({ baseUrl: `http://127.0.0.1:${this.apiPort}`, token: (await readFile(join(this.dataDir, 'api-token'), 'utf8')).trim() }),
      READY_TIMEOUT_MS,
    );
    await waitFor(
      `GET /v1/browser to show the add-on connected and a "${platform}" tab`,
      async () => (relayReady(await client.browser(), platform) ? true : undefined),
      READY_TIMEOUT_MS,
    );
    return client;
  }

  /** Kills the running host with SIGKILL (no chance to save or clean up) and waits until it is gone; returns its pid. */
  async killHost(): Promise<number> {
    const pids = hostPids(this.dataDir);
    const pid = pids[0];
    if (pid === undefined || pids.length > 1) throw new Error(`expected one host process for ${this.dataDir}, found ${JSON.stringify(pids)}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(`host pid ${pid} to be gone after SIGKILL`, () => (hostPids(this.dataDir).includes(pid) ? undefined : true), 5_000);
    return pid;
  }

  /** Restarts Firefox on the same profile, HOME and data dir, and reopens the platform tabs. */
  async restartFirefox(): Promise<void> {
    await this.firefox.restart();
    for (const url of this.tabUrls) await this.firefox.openTab(url);
  }

  /** Kills Firefox with SIGKILL (a browser crash) and waits for its exit; returns its pid. */
  async crashFirefox(): Promise<number> {
    return this.firefox.crash();
  }

  /** Starts Firefox again after a crash, on the same profile, HOME and data dir, and reopens the platform tabs. */
  async relaunchFirefox(): Promise<void> {
    await this.firefox.relaunch();
    for (const url of this.tabUrls) await this.firefox.openTab(url);
  }

  /** Removes the host registration, as `install-host uninstall` would for a user. */
  async unregisterHost(): Promise<void> {
    await uninstallHost(this.home);
  }

  /** Registers the host again with the same data dir. */
  async registerHost(): Promise<void> {
    await installHost(this.home, this.dataDir);
  }

  /** Closes Firefox and removes every temp file. */
  async dispose(): Promise<void> {
    try {
      await this.firefox.close();
    } finally {
      await rm(this.root, { recursive: true, force: true });
    }
  }
}

function relayReady(status: BrowserStatus, platform: string): boolean {
  return status.host.connected && status.tabs.some((t) => t.platform === platform && t.tabs > 0);
}
