import { describe, expect, it } from 'vitest';
import { commandLine, parseCli } from './cli.js';

const absolute = (path: string) => `/cwd/${path}`;

describe('parseCli', () => {
  it('defaults to a user install for the conductor-fx add-on', () => {
    expect(parseCli([], absolute)).toEqual({
      kind: 'run',
      options: { command: 'install', scope: 'user', dryRun: false, extensionId: 'conductor-fx@conductor.local', dataDir: null },
    });
  });

  it('reads the command and every flag', () => {
    expect(parseCli(['install', '--system', '--dry-run', '--extension-id', 'a@b', '--data-dir', 'data'], absolute)).toEqual({
      kind: 'run',
      options: { command: 'install', scope: 'system', dryRun: true, extensionId: 'a@b', dataDir: '/cwd/data' },
    });
    expect(parseCli(['status', '--user'], absolute)).toMatchObject({ kind: 'run', options: { command: 'status', scope: 'user' } });
    expect(parseCli(['uninstall', '--help'], absolute)).toEqual({ kind: 'help' });
  });

  it.each([
    [['reinstall'], /unknown command "reinstall"/],
    [['install', 'status'], /one command at a time/],
    [['--user', '--system'], /exclude each other/],
    [['--extension-id', 'not an id'], /not a Firefox add-on id/],
    [['status', '--dry-run'], /--dry-run applies to install and uninstall/],
    [['uninstall', '--data-dir', '/d'], /--data-dir applies to install/],
    [['--data-dir', ''], /needs a directory/],
    [['--verbose'], /verbose/],
  ])('refuses %j', (argv, message) => {
    const parsed = parseCli(argv, absolute);
    expect(parsed.kind).toBe('error');
    expect(parsed.kind === 'error' ? parsed.message : '').toMatch(message);
  });
});

describe('commandLine', () => {
  it('spells only the flags that differ from the defaults', () => {
    expect(commandLine('status', 'user', 'conductor-fx@conductor.local')).toBe('npm run install-host -- status');
    expect(commandLine('install', 'system', 'a@b')).toBe('npm run install-host -- install --system --extension-id a@b');
  });
});
