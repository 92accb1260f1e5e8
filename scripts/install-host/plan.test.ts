import { describe, expect, it } from 'vitest';
import { resolveLayout } from './paths.js';
import { describeAction, formatArgv, planInstall, planUninstall } from './plan.js';

const linux = resolveLayout({ platform: 'linux', homedir: '/home/ada', env: {} }, 'user');
const windows = resolveLayout({ platform: 'win32', homedir: 'C:\\Users\\ada', env: { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' } }, 'user');
const files = { manifest: '{}\n', launcher: 'launcher\n' };
const everything = { manifest: true, launcher: true, registry: true };

describe('planInstall', () => {
  it('writes the executable launcher before the manifest that points at it', () => {
    expect(planInstall(linux, files)).toEqual([
      { kind: 'write', path: '/home/ada/.local/share/conductor-fx/conductor_fx.sh', text: 'launcher\n', executable: true, privateDir: true },
      { kind: 'write', path: '/home/ada/.mozilla/native-messaging-hosts/conductor_fx.json', text: '{}\n', executable: false },
    ]);
  });

  it('creates the user launcher directory private (it is the host data dir too), the system one readable by every user', () => {
    const system = resolveLayout({ platform: 'linux', homedir: '/home/ada', env: {} }, 'system');
    expect(planInstall(linux, files)[0]).toMatchObject({ path: linux.launcherPath, privateDir: true });
    expect(planInstall(system, files)[0]).toMatchObject({ path: system.launcherPath, privateDir: false });
  });

  it('adds the registry entry last on Windows', () => {
    expect(planInstall(windows, files).at(-1)).toEqual({
      kind: 'run',
      argv: ['reg', 'add', 'HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx', '/ve', '/t', 'REG_SZ', '/d', 'C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.json', '/f'],
    });
  });
});

describe('planUninstall', () => {
  it('removes the files, then their directories only if empty', () => {
    expect(planUninstall(linux, everything)).toEqual([
      { kind: 'remove', path: '/home/ada/.mozilla/native-messaging-hosts/conductor_fx.json' },
      { kind: 'remove', path: '/home/ada/.local/share/conductor-fx/conductor_fx.sh' },
      { kind: 'remove-dir-if-empty', path: '/home/ada/.mozilla/native-messaging-hosts' },
      { kind: 'remove-dir-if-empty', path: '/home/ada/.local/share/conductor-fx' },
    ]);
  });

  it('deletes the registry key first on Windows and names the shared directory once', () => {
    expect(planUninstall(windows, everything)).toEqual([
      { kind: 'run', argv: ['reg', 'delete', 'HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx', '/f'] },
      { kind: 'remove', path: 'C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.json' },
      { kind: 'remove', path: 'C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.bat' },
      { kind: 'remove-dir-if-empty', path: 'C:\\Users\\ada\\AppData\\Local\\conductor-fx' },
    ]);
  });

  it('plans only what is there, and nothing when nothing is', () => {
    expect(planUninstall(windows, { manifest: false, launcher: true, registry: false }).map((a) => a.kind)).toEqual(['remove', 'remove-dir-if-empty']);
    expect(planUninstall(linux, { manifest: false, launcher: false, registry: false })).toEqual([]);
  });
});

describe('describeAction', () => {
  it('says what each action does in one line', () => {
    expect(describeAction({ kind: 'write', path: '/a', text: '', executable: true })).toBe('write /a (executable)');
    expect(describeAction({ kind: 'remove-dir-if-empty', path: '/d' })).toBe('remove /d if empty');
    expect(describeAction({ kind: 'run', argv: ['reg', 'delete', 'HKCU\\X', '/f'] })).toBe('run reg delete HKCU\\X /f');
    expect(formatArgv(['reg', 'add', 'C:\\Program Files\\x', ''])).toBe('reg add "C:\\Program Files\\x" ""');
  });
});
