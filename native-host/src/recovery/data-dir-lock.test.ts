import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTempDirs } from '../../../test/host/temp-store.js';
import { ConductorError } from '../../../shared/errors.js';
import { acquireDataDirLock, PID_FILE_NAME } from './data-dir-lock.js';

const tempDir = useTempDirs('lock');
let dir: string;
beforeEach(() => {
  dir = tempDir();
});

/** Another process holding the lock the same way a host does (SQLite EXCLUSIVE on host.lock), until killed. */
async function lockFromAnotherProcess(): Promise<{ kill(): Promise<void>; pid: number }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(join(dir, 'host.lock'))}, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    require('fs').writeFileSync(${JSON.stringify(join(dir, PID_FILE_NAME))}, process.pid + '\\n');
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return {
    pid: child.pid as number,
    kill: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

describe('acquireDataDirLock', () => {
  it('takes a free data dir and writes its pid, and removes the pid on release', () => {
    const lock = acquireDataDirLock(dir, 4242);
    expect(readFileSync(join(dir, PID_FILE_NAME), 'utf8')).toBe('4242\n');
    lock.release();
    expect(existsSync(join(dir, PID_FILE_NAME))).toBe(false);
  });

  it('refuses a second owner in the same process with db_locked naming the holder', () => {
    const lock = acquireDataDirLock(dir, 1111);
    try {
      let err: unknown;
      try {
        acquireDataDirLock(dir, 2222);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConductorError);
      expect(err).toMatchObject({ code: 'db_locked', details: { pid: 1111, data_dir: dir } });
    } finally {
      lock.release();
    }
    acquireDataDirLock(dir, 2222).release();
  });

  it('refuses while another live process holds it, and takes it over once that process is killed', async () => {
    const holder = await lockFromAnotherProcess();
    expect(() => acquireDataDirLock(dir, process.pid)).toThrow(expect.objectContaining({ code: 'db_locked', details: expect.objectContaining({ pid: holder.pid }) }));
    await holder.kill();
    // The dead holder's pid file is still there: the lock, not the file, decides.
    expect(readFileSync(join(dir, PID_FILE_NAME), 'utf8')).toBe(`${holder.pid}\n`);
    const lock = acquireDataDirLock(dir, process.pid);
    expect(readFileSync(join(dir, PID_FILE_NAME), 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });
});
