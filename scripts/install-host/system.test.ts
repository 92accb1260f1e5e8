import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSystemEffects, type CommandRunner } from './system.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cfx-system-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(process.platform === 'win32')('createSystemEffects, file system', () => {
  const effects = createSystemEffects('linux', {});

  it('creates parent directories and restores a lost executable bit on rewrite', async () => {
    const path = join(dir, 'a', 'b', 'launcher.sh');
    await effects.apply({ kind: 'write', path, text: 'one', executable: true });
    chmodSync(path, 0o644);
    await effects.apply({ kind: 'write', path, text: 'two', executable: true });
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(statSync(path).mode & 0o777).toBe(0o755);
    expect(await effects.isExecutable(path)).toBe(true);
  });

  it('creates the directories of a private write for the user alone, and others readable', async () => {
    await effects.apply({ kind: 'write', path: join(dir, 'own', 'launcher.sh'), text: 'x', executable: true, privateDir: true });
    await effects.apply({ kind: 'write', path: join(dir, 'shared', 'manifest.json'), text: 'x', executable: false });
    expect(statSync(join(dir, 'own')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'shared')).mode & 0o777).toBe(0o755);
  });

  it('removes a directory only when it is empty', async () => {
    mkdirSync(join(dir, 'shared'));
    writeFileSync(join(dir, 'shared', 'other.json'), '{}');
    await effects.apply({ kind: 'remove-dir-if-empty', path: join(dir, 'shared') });
    await effects.apply({ kind: 'remove-dir-if-empty', path: join(dir, 'missing') });
    expect(await effects.exists(join(dir, 'shared', 'other.json'))).toBe(true);
    mkdirSync(join(dir, 'ours'));
    await effects.apply({ kind: 'remove-dir-if-empty', path: join(dir, 'ours') });
    expect(await effects.exists(join(dir, 'ours'))).toBe(false);
  });

  it('reads a missing file as null', async () => {
    expect(await effects.readText(join(dir, 'nope.json'))).toBeNull();
  });
});

describe('createSystemEffects, commands', () => {
  it('runs the exact argv and fails with the command and its stderr on a non-zero exit', async () => {
    const seen: string[][] = [];
    const runner: CommandRunner = async (argv) => {
      seen.push(argv);
      return { code: 1, stdout: '', stderr: 'ERROR: Access is denied.\r\n' };
    };
    const effects = createSystemEffects('win32', {}, runner);
    const argv: [string, ...string[]] = ['reg', 'add', 'HKLM\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx', '/ve', '/t', 'REG_SZ', '/d', 'C:\\P D\\conductor_fx.json', '/f'];
    await expect(effects.apply({ kind: 'run', argv })).rejects.toThrow(
      'reg add HKLM\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx /ve /t REG_SZ /d "C:\\P D\\conductor_fx.json" /f failed (exit 1): ERROR: Access is denied.',
    );
    expect(seen).toEqual([argv]);
  });

  it('reads a missing registry key as null', async () => {
    const effects = createSystemEffects('win32', {}, async () => ({ code: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.' }));
    expect(await effects.queryRegistryDefault('HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx')).toBeNull();
  });
});
