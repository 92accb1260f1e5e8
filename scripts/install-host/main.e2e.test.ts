import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const installer = join(root, 'dist', 'install-host.mjs');
const builtHost = join(root, 'dist', 'native-host', 'host.mjs');

// HOME redirects every path on Linux and macOS; on Windows the registry is not redirectable, so this runs there by hand only.
describe.skipIf(process.platform === 'win32')('install-host, the built CLI against the real host', () => {
  let home = '';

  beforeAll(() => {
    const build = spawnSync(process.execPath, ['scripts/build.mjs', 'host', 'install-host'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`node scripts/build.mjs host install-host failed:\n${build.stderr}`);
    // The status check needs the real host: its absence is a failure, never a skip.
    for (const file of [installer, builtHost]) {
      if (!existsSync(file)) throw new Error(`${relative(root, file)} is missing after the build`);
    }
  }, 120_000);
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'cfx-e2e-home-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
    const run = spawnSync(process.execPath, [installer, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, HOME: home } });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  function filesUnder(dir: string): string[] {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
  }

  it('installs, pings the real host through the launcher, and uninstalls to nothing left', () => {
    const install = cli('install');
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    expect(filesUnder(home).sort()).toEqual(['.local/share/conductor-fx/conductor_fx.sh', '.mozilla/native-messaging-hosts/conductor_fx.json']);

    const status = cli('status');
    expect(status.stdout).toMatch(/^ok {5}ping {6}host \S+, schema \d+, answered in \d+ ms$/m);
    expect(status.stdout).toMatch(/all 7 checks ok\n$/);
    expect(status.code).toBe(0);

    expect(cli('install').code).toBe(0);
    expect(cli('uninstall').code).toBe(0);
    expect(filesUnder(home)).toEqual([]);
    expect(cli('status').code).toBe(1);
  });

  it('writes nothing on --dry-run', () => {
    const dryRun = cli('install', '--dry-run');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain(`would write ${join(home, '.mozilla/native-messaging-hosts/conductor_fx.json')}`);
    expect(readdirSync(home)).toEqual([]);
  });

  it('answers a bad command line with the usage and exit code 2, also through the executable shim', () => {
    const bad = cli('reinstall');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "reinstall"');
    const help = spawnSync(join(root, 'scripts', 'install-host', 'install-host'), ['--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: npm run install-host');
  });
});
