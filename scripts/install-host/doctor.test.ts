import { describe, expect, it } from 'vitest';
import { diagnose, formatReport, type Check, type DoctorProbe } from './doctor.js';
import { renderLauncher } from './launcher.js';
import { buildManifest, renderManifest } from './manifest.js';
import { resolveLayout } from './paths.js';
import type { PingOutcome } from './ping.js';

const ID = 'conductor-fx@conductor.local';
const linux = resolveLayout({ platform: 'linux', homedir: '/home/ada', env: {} }, 'user');
const windows = resolveLayout({ platform: 'win32', homedir: 'C:\\Users\\ada', env: { LOCALAPPDATA: 'C:\\L' } }, 'user');
const PONG: PingOutcome = { ok: true, hostVersion: '0.1.0', schemaVersion: 2, elapsedMs: 30, exitedOnClose: true };

/** A machine where install went right: files, executables and registry as install leaves them. */
function installedProbe(layout = linux): DoctorProbe & { files: Map<string, string>; executables: Set<string>; pings: string[][]; owners: Map<string, number> } {
  const nodePath = layout.platform === 'win32' ? 'C:\\node\\node.exe' : '/usr/bin/node';
  const hostScript = layout.platform === 'win32' ? 'C:\\src\\dist\\native-host\\host.mjs' : '/src/dist/native-host/host.mjs';
  const files = new Map([
    [layout.manifestPath, renderManifest(buildManifest(layout.launcherPath, ID))],
    [layout.launcherPath, renderLauncher({ platform: layout.platform, nodePath, hostScript, dataDir: null })],
    [hostScript, '// host'],
  ]);
  const pings: string[][] = [];
  const owners = new Map<string, number>();
  return {
    files,
    executables: new Set([layout.launcherPath, nodePath]),
    pings,
    async readText(path) {
      return files.get(path) ?? null;
    },
    async exists(path) {
      return files.has(path);
    },
    async isExecutable(path) {
      return this.executables.has(path);
    },
    async queryRegistryDefault(key) {
      return key === layout.registryKey ? layout.manifestPath : null;
    },
    async ping(launcherPath, args) {
      pings.push([launcherPath, ...args]);
      return PONG;
    },
    async ownerChain(path) {
      return [{ path, uid: owners.get(path) ?? 0, mode: 0o100755, isDirectory: false }, { path: '/', uid: 0, mode: 0o40755, isDirectory: true }];
    },
    owners,
  };
}

const summary = (checks: Check[]) => checks.map((check) => `${check.ok ? 'ok' : 'wrong'} ${check.name}`);

describe('diagnose', () => {
  it('passes every check of a good install and pings through the launcher with Firefox\'s two args', async () => {
    const probe = installedProbe();
    const checks = await diagnose(linux, ID, probe);
    expect(summary(checks)).toEqual(['ok manifest', 'ok launcher', 'ok node', 'ok host', 'ok owners', 'ok ping', 'ok exit']);
    expect(probe.pings).toEqual([[linux.launcherPath, linux.manifestPath, ID]]);
    expect(checks[5]?.detail).toBe('host 0.1.0, schema 2, answered in 30 ms');
  });

  it('reports who owns the launcher, node, the host and node_modules', async () => {
    const probe = installedProbe();
    probe.owners.set('/src/dist/native-host/host.mjs', 1000);
    const owners = (await diagnose(linux, ID, probe)).find((check) => check.name === 'owners');
    expect(owners).toEqual({
      name: 'owners',
      ok: true,
      detail: `${linux.launcherPath} uid 0 (root), /usr/bin/node uid 0 (root), /src/dist/native-host/host.mjs uid 1000, /src/node_modules uid 0 (root)`,
    });
  });

  it('for a --system install, is wrong (and pings nothing) when a file every user runs is not root\'s or is writable by others', async () => {
    const system = resolveLayout({ platform: 'linux', homedir: '/home/ada', env: {} }, 'system');
    const probe = installedProbe(system);
    probe.owners.set('/src/dist/native-host/host.mjs', 1000);
    const checks = await diagnose(system, ID, probe);
    expect(summary(checks).at(-1)).toBe('wrong owners');
    expect(checks.at(-1)).toMatchObject({ detail: expect.stringContaining('/src/dist/native-host/host.mjs belongs to uid 1000, not root'), fix: expect.stringContaining('chown -R root:root') });
    expect(probe.pings).toEqual([]);
    probe.owners.clear();
    expect(summary(await diagnose(system, ID, probe))).toContain('ok owners');
  });

  it('follows the registry to the manifest on Windows', async () => {
    const checks = await diagnose(windows, ID, installedProbe(windows));
    expect(summary(checks)).toEqual(['ok registry', 'ok manifest', 'ok launcher', 'ok node', 'ok host', 'ok ping', 'ok exit']);
    expect(checks[0]?.detail).toBe('HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx -> C:\\L\\conductor-fx\\conductor_fx.json');
  });

  it('stops at a missing registry key with the install command as the fix', async () => {
    const probe = { ...installedProbe(windows), queryRegistryDefault: async () => null };
    const checks = await diagnose(windows, ID, probe);
    expect(checks).toEqual([
      { name: 'registry', ok: false, detail: 'HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx is missing', fix: 'npm run install-host -- install' },
    ]);
  });

  it('stops at a missing manifest', async () => {
    const probe = installedProbe();
    probe.files.delete(linux.manifestPath);
    const checks = await diagnose(linux, ID, probe);
    expect(summary(checks)).toEqual(['wrong manifest']);
    expect(checks[0]?.detail).toContain('No such native application');
  });

  it('flags a manifest for another add-on, with the reinstall for this one, and still checks the launcher', async () => {
    const probe = installedProbe();
    const checks = await diagnose(linux, 'other@example.org', probe);
    expect(summary(checks)).toEqual(['wrong manifest', 'ok launcher', 'ok node', 'ok host']);
    expect(checks[0]?.fix).toBe('npm run install-host -- install --extension-id other@example.org');
    expect(probe.pings).toEqual([]);
  });

  it('does not ping when the launcher is not executable or its node is gone', async () => {
    const probe = installedProbe();
    probe.executables.clear();
    const checks = await diagnose(linux, ID, probe);
    expect(summary(checks)).toEqual(['ok manifest', 'wrong launcher', 'wrong node', 'ok host']);
    expect(checks[1]?.fix).toContain(`chmod +x '${linux.launcherPath}'`);
    expect(checks[2]?.detail).toContain('/usr/bin/node is gone');
    expect(probe.pings).toEqual([]);
  });

  it('sends a missing host build to npm run build', async () => {
    const probe = installedProbe();
    probe.files.delete('/src/dist/native-host/host.mjs');
    const checks = await diagnose(linux, ID, probe);
    expect(checks.at(-1)).toMatchObject({ name: 'host', ok: false, fix: expect.stringContaining('npm run build') });
  });

  it('rejects a launcher it did not write', async () => {
    const probe = installedProbe();
    probe.files.set(linux.launcherPath, '#!/bin/sh\nnode host.mjs\n');
    expect(summary(await diagnose(linux, ID, probe))).toEqual(['ok manifest', 'wrong launcher']);
  });

  it('reports a failed ping with how to run the launcher by hand', async () => {
    const probe = { ...installedProbe(), ping: async (): Promise<PingOutcome> => ({ ok: false, problem: 'no answer to ping within 5 s' }) };
    const checks = await diagnose(linux, ID, probe);
    expect(checks.at(-1)).toEqual({
      name: 'ping',
      ok: false,
      detail: 'no answer to ping within 5 s',
      fix: `run it by hand and read its stderr: '${linux.launcherPath}' '${linux.manifestPath}' ${ID}`,
    });
  });

  it('flags a host that outlives its closed stdin', async () => {
    const probe = { ...installedProbe(), ping: async (): Promise<PingOutcome> => ({ ...PONG, exitedOnClose: false }) };
    expect(summary(await diagnose(linux, ID, probe)).at(-1)).toBe('wrong exit');
  });
});

describe('formatReport', () => {
  it('prints ok / wrong per check, the fix under each wrong one, and a verdict', () => {
    const report = formatReport([
      { name: 'manifest', ok: true, detail: '/m ok' },
      { name: 'node', ok: false, detail: '/n is gone', fix: 'reinstall' },
    ]);
    expect(report).toBe(['ok     manifest  /m ok', 'wrong  node      /n is gone', '                 fix: reinstall', '1 wrong: fix the first one, then run status again'].join('\n'));
    expect(formatReport([{ name: 'ping', ok: true, detail: 'fine' }])).toBe('ok     ping  fine\nall 1 checks ok');
  });
});
