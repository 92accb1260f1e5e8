import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeDataDirPrivate, notOwnDir, resolveDataDir } from './data-dir.js';

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

describe('makeDataDirPrivate', () => {
  let parent: string;
  const uid = process.getuid!();
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'cfx-private-'));
  });
  afterEach(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  it('narrows an existing 0755 dir to 0700 and its 0644 files to 0600, and leaves symlinks (and their targets) alone', () => {
    const dir = join(parent, 'data');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    for (const name of ['artifact.db', 'host.log', 'host.lock', 'policy.json']) {
      writeFileSync(join(dir, name), 'x');
      chmodSync(join(dir, name), 0o644);
    }
    const outside = join(parent, 'outside');
    writeFileSync(outside, 'x');
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(dir, 'link'));
    makeDataDirPrivate(dir, { platform: 'linux', uid });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(dir).filter((n) => n !== 'link')) expect(statSync(join(dir, name)).mode & 0o777, name).toBe(0o600);
    expect(lstatSync(join(dir, 'link')).isSymbolicLink()).toBe(true);
    expect(statSync(outside).mode & 0o777).toBe(0o644);
  });

  it('creates a missing dir 0700', () => {
    const dir = join(parent, 'a', 'b');
    makeDataDirPrivate(dir, { platform: 'linux', uid });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a dir that belongs to another user, naming both uids, and changes nothing in it', () => {
    const dir = join(parent, 'theirs');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'host.log'), 'x');
    chmodSync(join(dir, 'host.log'), 0o644);
    const other = uid + 1;
    expect(() => makeDataDirPrivate(dir, { platform: 'linux', uid: other })).toThrow(
      expect.objectContaining({ code: 'data_dir_not_private', message: expect.stringContaining(`belongs to uid ${uid}, not to this user (uid ${other})`) }),
    );
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    expect(statSync(join(dir, 'host.log')).mode & 0o777).toBe(0o644);
  });

  it('does nothing on Windows (the profile ACL protects %LOCALAPPDATA%)', () => {
    makeDataDirPrivate(join(parent, 'win'), { platform: 'win32', uid: undefined });
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('notOwnDir', () => {
  it('accepts only a dir of this uid that no one else may write', () => {
    expect(notOwnDir('/d', { uid: 5, mode: 0o40700 }, 5)).toBeNull();
    expect(notOwnDir('/d', { uid: 5, mode: 0o40755 }, 5)).toBeNull();
    expect(notOwnDir('/d', { uid: 6, mode: 0o40700 }, 5)).toMatch(/belongs to uid 6/);
    expect(notOwnDir('/d', { uid: 5, mode: 0o40770 }, 5)).toMatch(/writable by other users \(mode 770\)/);
    expect(notOwnDir('/d', { uid: 5, mode: 0o40702 }, 5)).toMatch(/writable by other users/);
  });
});
