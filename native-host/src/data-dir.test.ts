import { describe, expect, it } from 'vitest';
import { resolveDataDir } from './data-dir.js';

describe('resolveDataDir', () => {
  it('uses CONDUCTOR_FX_DATA_DIR on every OS when set', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      expect(resolveDataDir({ platform, homedir: '/home/ada', env: { CONDUCTOR_FX_DATA_DIR: '/custom/dir', XDG_DATA_HOME: '/xdg' } })).toBe('/custom/dir');
    }
  });

  it('follows XDG_DATA_HOME on Linux, else ~/.local/share', () => {
    expect(resolveDataDir({ platform: 'linux', homedir: '/home/ada', env: { XDG_DATA_HOME: '/xdg/data' } })).toBe('/xdg/data/conductor-fx');
    expect(resolveDataDir({ platform: 'linux', homedir: '/home/ada', env: {} })).toBe('/home/ada/.local/share/conductor-fx');
    // A relative XDG_DATA_HOME is invalid per the spec and ignored; an empty override too.
    expect(resolveDataDir({ platform: 'freebsd', homedir: '/home/ada', env: { XDG_DATA_HOME: 'rel', CONDUCTOR_FX_DATA_DIR: '' } })).toBe('/home/ada/.local/share/conductor-fx');
  });

  it('uses Application Support on macOS', () => {
    expect(resolveDataDir({ platform: 'darwin', homedir: '/Users/ada', env: { XDG_DATA_HOME: '/xdg' } })).toBe('/Users/ada/Library/Application Support/conductor-fx');
  });

  it('uses %LOCALAPPDATA% on Windows, else the default under the profile', () => {
    expect(resolveDataDir({ platform: 'win32', homedir: 'C:\\Users\\ada', env: { LOCALAPPDATA: 'D:\\Local' } })).toBe('D:\\Local\\conductor-fx');
    expect(resolveDataDir({ platform: 'win32', homedir: 'C:\\Users\\ada', env: {} })).toBe('C:\\Users\\ada\\AppData\\Local\\conductor-fx');
  });
});
