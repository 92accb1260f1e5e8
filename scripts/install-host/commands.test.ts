import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliOptions } from './cli.js';
import { runCommand, type Effects, type InstallerContext } from './commands.js';
import type { SupportedPlatform } from './paths.js';
import type { PingOutcome } from './ping.js';
import type { Action } from './plan.js';
import { createSystemEffects, type CommandRunner } from './system.js';

const ID = 'conductor-fx@conductor.local';
const PONG: PingOutcome = { ok: true, hostVersion: '0.1.0', schemaVersion: 2, elapsedMs: 5, exitedOnClose: true };
const options = (command: CliOptions['command'], extra: Partial<CliOptions> = {}): CliOptions => ({
  command,
  scope: 'user',
  dryRun: false,
  extensionId: ID,
  dataDir: null,
  ...extra,
});

let home = '';
let build = '';
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'cfx-home-'));
  build = mkdtempSync(join(tmpdir(), 'cfx-build-'));
  writeFileSync(join(build, 'host.mjs'), '// the built host\n');
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

/** A context on the real file system under a temp HOME; the ping is stubbed (the e2e test pings the real host). */
function realContext(platform: SupportedPlatform = 'linux'): InstallerContext & { output: string[] } {
  const output: string[] = [];
  const effects: Effects = { ...createSystemEffects(platform, {}), ping: async () => PONG };
  return {
    sys: { platform, homedir: home, env: {} },
    nodePath: process.execPath,
    hostScript: join(build, 'host.mjs'),
    effects,
    print: (text) => output.push(text),
    printError: (text) => output.push(`stderr: ${text}`),
    output,
  };
}

/** Every file under a directory, by relative path, with its mode and text. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path)] = `${(statSync(path).mode & 0o777).toString(8)} ${readFileSync(path, 'utf8')}`;
  }
  return files;
}

describe('install, status, uninstall on the real file system (Linux layout)', () => {
  it('installs, checks ok, and uninstalls to nothing left', async () => {
    const ctx = realContext();
    expect(await runCommand(options('install'), ctx)).toBe(0);
    const files = snapshot(home);
    expect(Object.keys(files).sort()).toEqual(['.local/share/conductor-fx/conductor_fx.sh', '.mozilla/native-messaging-hosts/conductor_fx.json']);
    expect(files['.local/share/conductor-fx/conductor_fx.sh']).toMatch(/^755 #!\/bin\/sh\n/);
    const manifest = JSON.parse(readFileSync(join(home, '.mozilla/native-messaging-hosts/conductor_fx.json'), 'utf8')) as unknown;
    expect(manifest).toEqual({
      name: 'conductor_fx',
      description: expect.any(String),
      path: join(home, '.local/share/conductor-fx/conductor_fx.sh'),
      type: 'stdio',
      allowed_extensions: [ID],
    });

    expect(await runCommand(options('status'), ctx)).toBe(0);
    expect(ctx.output.at(-1)).toMatch(/\nall 7 checks ok$/);

    expect(await runCommand(options('uninstall'), ctx)).toBe(0);
    expect(snapshot(home)).toEqual({});
    expect(() => statSync(join(home, '.local/share/conductor-fx'))).toThrow(/ENOENT/);
    expect(await runCommand(options('status'), ctx)).toBe(1);
  });

  it('refuses a --system install that would run a checkout others can write, and writes nothing', async () => {
    const ctx = realContext();
    const applied: Action[] = [];
    const effects: Effects = { ...ctx.effects, apply: async (action) => void applied.push(action) };
    chmodSync(build, 0o777);
    expect(await runCommand(options('install', { scope: 'system' }), { ...ctx, effects })).toBe(1);
    expect(ctx.output.join('\n')).toContain(`refusing a --system install: ${build} is writable by group or others (mode 777)`);
    expect(ctx.output.join('\n')).toContain('chown -R root:root');
    expect(applied).toEqual([]);
    // The same checkout is fine for the user's own install.
    expect(await runCommand(options('install'), ctx)).toBe(0);
  });

  it('refuses a launcher value a batch file cannot quote, before writing anything', async () => {
    const ctx = realContext('win32');
    const applied: Action[] = [];
    const effects: Effects = { ...ctx.effects, apply: async (action) => void applied.push(action), queryRegistryDefault: async () => null };
    expect(await runCommand(options('install', { dataDir: 'C:\\d" & calc & rem "' }), { ...ctx, effects })).toBe(2);
    expect(ctx.output.join('\n')).toContain('holds a double quote, which a batch file cannot quote');
    expect(applied).toEqual([]);
  });

  it('is idempotent: a second install leaves the same files', async () => {
    const ctx = realContext();
    await runCommand(options('install'), ctx);
    const first = snapshot(home);
    expect(await runCommand(options('install'), ctx)).toBe(0);
    expect(snapshot(home)).toEqual(first);
  });

  it('writes nothing on a dry run but prints the manifest and where it would go', async () => {
    const ctx = realContext();
    expect(await runCommand(options('install', { dryRun: true }), ctx)).toBe(0);
    expect(snapshot(home)).toEqual({});
    expect(readdirSync(home)).toEqual([]);
    const printed = ctx.output.join('\n');
    expect(printed).toContain(`would write ${join(home, '.mozilla/native-messaging-hosts/conductor_fx.json')}`);
    expect(printed).toContain('    "allowed_extensions": [');

    await runCommand(options('install'), ctx);
    const installed = snapshot(home);
    expect(await runCommand(options('uninstall', { dryRun: true }), ctx)).toBe(0);
    expect(snapshot(home)).toEqual(installed);
  });

  it('leaves other hosts\' manifests and their directory in place', async () => {
    const ctx = realContext();
    const hosts = join(home, '.mozilla/native-messaging-hosts');
    mkdirSync(hosts, { recursive: true });
    writeFileSync(join(hosts, 'other_host.json'), '{}');
    await runCommand(options('install'), ctx);
    await runCommand(options('uninstall'), ctx);
    expect(snapshot(home)).toEqual({ '.mozilla/native-messaging-hosts/other_host.json': '644 {}' });
  });

  it('says so when there is nothing to uninstall', async () => {
    const ctx = realContext();
    expect(await runCommand(options('uninstall'), ctx)).toBe(0);
    expect(ctx.output).toEqual(['nothing to remove: conductor_fx is not installed (user)']);
  });

  it('refuses to register a host that is not built', async () => {
    const ctx = realContext();
    rmSync(join(build, 'host.mjs'));
    expect(await runCommand(options('install'), ctx)).toBe(1);
    expect(ctx.output.join('\n')).toContain('npm run build');
    expect(readdirSync(home)).toEqual([]);
  });

  it('bakes --data-dir into the launcher', async () => {
    const ctx = realContext();
    await runCommand(options('install', { dataDir: '/srv/fx data' }), ctx);
    expect(readFileSync(join(home, '.local/share/conductor-fx/conductor_fx.sh'), 'utf8')).toContain(`CONDUCTOR_FX_DATA_DIR='/srv/fx data'`);
  });

  it('uses the macOS directories when the platform is darwin', async () => {
    const ctx = realContext('darwin');
    await runCommand(options('install'), ctx);
    expect(Object.keys(snapshot(home)).sort()).toEqual([
      'Library/Application Support/Mozilla/NativeMessagingHosts/conductor_fx.json',
      'Library/Application Support/conductor-fx/conductor_fx.sh',
    ]);
    expect(await runCommand(options('status'), ctx)).toBe(0);
    await runCommand(options('uninstall'), ctx);
    expect(snapshot(home)).toEqual({});
  });
});

describe('Windows', () => {
  const KEY = 'HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx';
  const MANIFEST = 'C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.json';
  const sys = { platform: 'win32', homedir: 'C:\\Users\\ada', env: { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' } } as const;

  /** Effects that record what would be done, over an in-memory registry. */
  function recordingContext(registry: Map<string, string>): InstallerContext & { actions: Action[] } {
    const actions: Action[] = [];
    const effects: Effects = {
      async apply(action) {
        actions.push(action);
      },
      readText: async () => null,
      exists: async () => true,
      isExecutable: async () => true,
      queryRegistryDefault: async (key) => registry.get(key) ?? null,
      ping: async () => PONG,
      ownerChain: async () => null,
    };
    return { sys, nodePath: 'C:\\Program Files\\nodejs\\node.exe', hostScript: 'C:\\src\\dist\\native-host\\host.mjs', effects, print: () => undefined, printError: () => undefined, actions };
  }

  it('writes the .bat launcher and the manifest, then points the HKCU key at the manifest with reg add', async () => {
    const ctx = recordingContext(new Map());
    expect(await runCommand(options('install'), ctx)).toBe(0);
    expect(ctx.actions.map((a) => (a.kind === 'write' ? a.path : a))).toEqual([
      'C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.bat',
      MANIFEST,
      { kind: 'run', argv: ['reg', 'add', KEY, '/ve', '/t', 'REG_SZ', '/d', MANIFEST, '/f'] },
    ]);
    const launcher = ctx.actions[0];
    expect(launcher?.kind === 'write' && launcher.text).toBe(
      '@echo off\r\n' +
        'rem conductor-fx native-messaging host launcher, written by `npm run install-host`; reinstall rather than edit.\r\n' +
        '"C:\\Program Files\\nodejs\\node.exe" "C:\\src\\dist\\native-host\\host.mjs" %*\r\n',
    );
  });

  it('uninstalls with reg delete on HKLM for --system', async () => {
    const systemKey = 'HKLM\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx';
    const ctx = recordingContext(new Map([[systemKey, 'C:\\ProgramData\\conductor-fx\\conductor_fx.json']]));
    await runCommand(options('uninstall', { scope: 'system' }), { ...ctx, sys: { ...sys, env: {} } });
    expect(ctx.actions[0]).toEqual({ kind: 'run', argv: ['reg', 'delete', systemKey, '/f'] });
  });

  it('status reads the key with reg query, through the injected command runner', async () => {
    const commands: string[][] = [];
    const runner: CommandRunner = async (argv) => {
      commands.push(argv);
      return { code: 0, stdout: `\r\n${KEY}\r\n    (Default)    REG_SZ    ${MANIFEST}\r\n\r\n`, stderr: '' };
    };
    const output: string[] = [];
    const ctx: InstallerContext = {
      ...recordingContext(new Map()),
      effects: createSystemEffects('win32', {}, runner),
      print: (text) => output.push(text),
    };
    expect(await runCommand(options('status'), ctx)).toBe(1);
    expect(commands).toEqual([['reg', 'query', KEY, '/ve']]);
    expect(output.join('\n')).toContain(`ok     registry  ${KEY} -> ${MANIFEST}`);
    expect(output.join('\n')).toContain(`wrong  manifest  no manifest at ${MANIFEST}`);
  });
});
