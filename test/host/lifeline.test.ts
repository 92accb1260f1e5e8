import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureHostBuilt, requestEnvelope, startHost, type HostHandle } from '../helpers/host-process.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';

beforeAll(ensureHostBuilt);

/** The bound: the host is gone this long after losing its parent (it aims for 1 s). */
const GONE_WITHIN_MS = 2_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** True once `pid` has exited (a zombie nobody reaped counts: it holds no files and runs nothing). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cfx-lifeline-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Spawns a stand-in Firefox that spawns the host; resolves once the host is ready, with both pids. */
async function parentWithHost(dataDir: string, mode: 'own-pipes' | 'shared-stdin'): Promise<{ parentPid: number; hostPid: number }> {
  const parent = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'helpers', 'host-parent.ts'), dataDir, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(() => void parent.kill('SIGKILL'));
  const first = await createInterface({ input: parent.stdout })[Symbol.asyncIterator]().next();
  const [hostPid = 0, holderPid = 0] = String(first.value).split(' ').map(Number);
  expect(hostPid).toBeGreaterThan(0);
  cleanups.push(() => {
    for (const pid of [hostPid, holderPid]) if (pid > 0 && !gone(pid)) process.kill(pid, 'SIGKILL');
  });
  return { parentPid: parent.pid as number, hostPid };
}

/** A clean exit: the lock is free for the next host, and the DB's WAL was checkpointed away. */
async function expectCleanlyGone(dataDir: string, reason: string): Promise<void> {
  expect(existsSync(join(dataDir, 'artifact.db-wal'))).toBe(false);
  expect(existsSync(join(dataDir, 'host.pid'))).toBe(false);
  expect(readFileSync(join(dataDir, 'host.log'), 'utf8')).toContain(`host shutting down {"reason":"${reason}"`);
  const next = startHost({ dataDir });
  cleanups.push(() => next.dispose());
  await expect(next.hello()).resolves.toMatchObject({ schemaVersion: expect.any(Number) });
}

// Starting a stand-in parent (tsx) and a host takes seconds on a loaded machine; the 2 s bound applies only to the exit.
describe('the host never outlives its parent', { timeout: 60_000 }, () => {
  const cases = [
    { name: 'exits when its parent is SIGKILLed, however the pipes end up', mode: 'own-pipes', reason: 'the add-on closed the pipe' },
    { name: 'exits when its parent dies while another process keeps its stdin open (the parent-pid backstop)', mode: 'shared-stdin', reason: 'the parent process is gone' },
  ] as const;
  for (const { name, mode, reason } of cases) {
    it(name, async () => {
      const dataDir = tempDataDir();
      const { parentPid, hostPid } = await parentWithHost(dataDir, mode);
      process.kill(parentPid, 'SIGKILL');
      await waitFor('the host to exit after its parent was killed', () => (gone(hostPid) ? true : undefined), GONE_WITHIN_MS);
      await expectCleanlyGone(dataDir, reason);
    });
  }
});

describe('the host exits cleanly on every other way of losing Firefox', () => {
  async function readyHost(): Promise<HostHandle> {
    const host = startHost({ dataDir: tempDataDir() });
    cleanups.push(() => host.dispose());
    await host.hello();
    return host;
  }

  async function expectExit(host: HostHandle, reason: string): Promise<void> {
    await waitFor('the host to exit', () => (gone(host.pid) ? true : undefined), GONE_WITHIN_MS);
    expect(await host.exited).toEqual({ code: 0, signal: null });
    await expectCleanlyGone(host.dataDir, reason);
  }

  it('stdout closed: the reply that hits EPIPE stops the host', async () => {
    const host = await readyHost();
    host.closeOutput('stdout');
    host.writeFrame(requestEnvelope('after-close', 'ping'));
    await expectExit(host, 'the add-on closed the pipe');
  });

  it('stderr closed: the log line that hits EPIPE stops the host, and no error handler writes there again', async () => {
    const host = await readyHost();
    host.closeOutput('stderr');
    host.writeFrame(requestEnvelope('after-close', 'hello', { extensionVersion: '0.0.0-test', clientId: 'again' }));
    await expectExit(host, 'stderr closed');
    const log = readFileSync(join(host.dataDir, 'host.log'), 'utf8');
    expect(log).not.toContain('uncaught error');
  });

  it('stdin EOF', async () => {
    const host = await readyHost();
    host.closeStdin();
    await expectExit(host, 'the add-on closed the pipe');
  });

  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    it(signal, async () => {
      const host = await readyHost();
      host.kill(signal);
      await expectExit(host, signal);
    });
  }
});
