import { describe, expect, it } from 'vitest';
import { resolveLayout, supportedPlatform, type SystemInfo } from './paths.js';

const linux: SystemInfo = { platform: 'linux', homedir: '/home/ada', env: {} };
const mac: SystemInfo = { platform: 'darwin', homedir: '/Users/ada', env: {} };
const windows: SystemInfo = { platform: 'win32', homedir: 'C:\\Users\\ada', env: { LOCALAPPDATA: 'D:\\Local', ProgramData: 'E:\\Data' } };

describe('resolveLayout', () => {
  it('puts the Linux user manifest where Firefox looks and the launcher in our own data dir', () => {
    expect(resolveLayout(linux, 'user')).toEqual({
      platform: 'linux',
      scope: 'user',
      manifestDir: '/home/ada/.mozilla/native-messaging-hosts',
      manifestPath: '/home/ada/.mozilla/native-messaging-hosts/conductor_fx.json',
      launcherDir: '/home/ada/.local/share/conductor-fx',
      launcherPath: '/home/ada/.local/share/conductor-fx/conductor_fx.sh',
      registryKey: null,
    });
  });

  it('uses the system-wide directories on Linux with --system', () => {
    const layout = resolveLayout(linux, 'system');
    expect(layout.manifestPath).toBe('/usr/lib/mozilla/native-messaging-hosts/conductor_fx.json');
    expect(layout.launcherPath).toBe('/usr/local/lib/conductor-fx/conductor_fx.sh');
  });

  it('uses Application Support on macOS, per user and system-wide', () => {
    const user = resolveLayout(mac, 'user');
    expect(user.manifestPath).toBe('/Users/ada/Library/Application Support/Mozilla/NativeMessagingHosts/conductor_fx.json');
    expect(user.launcherPath).toBe('/Users/ada/Library/Application Support/conductor-fx/conductor_fx.sh');
    const system = resolveLayout(mac, 'system');
    expect(system.manifestPath).toBe('/Library/Application Support/Mozilla/NativeMessagingHosts/conductor_fx.json');
    expect(system.launcherPath).toBe('/Library/Application Support/conductor-fx/conductor_fx.sh');
    expect(system.registryKey).toBeNull();
  });

  it('keeps manifest and .bat launcher in our own directory on Windows, found through HKCU or HKLM', () => {
    expect(resolveLayout(windows, 'user')).toEqual({
      platform: 'win32',
      scope: 'user',
      manifestDir: 'D:\\Local\\conductor-fx',
      manifestPath: 'D:\\Local\\conductor-fx\\conductor_fx.json',
      launcherDir: 'D:\\Local\\conductor-fx',
      launcherPath: 'D:\\Local\\conductor-fx\\conductor_fx.bat',
      registryKey: 'HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx',
    });
    const system = resolveLayout(windows, 'system');
    expect(system.manifestPath).toBe('E:\\Data\\conductor-fx\\conductor_fx.json');
    expect(system.registryKey).toBe('HKLM\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx');
  });

  it('falls back to the usual Windows folders when the environment does not name them', () => {
    const bare: SystemInfo = { ...windows, env: {} };
    expect(resolveLayout(bare, 'user').manifestPath).toBe('C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.json');
    expect(resolveLayout(bare, 'system').manifestPath).toBe('C:\\ProgramData\\conductor-fx\\conductor_fx.json');
  });
});

describe('supportedPlatform', () => {
  it('refuses a platform Firefox native messaging is not set up for here', () => {
    expect(() => supportedPlatform('freebsd')).toThrow(/Linux, macOS and Windows.*freebsd/);
  });
});
