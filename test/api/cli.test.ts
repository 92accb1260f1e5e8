// The built `conductor-fx` CLI (dist/cli.mjs, the package bin) against the real host with the
// fake add-on: it finds the host from the data dir alone.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, distPath } from '../helpers/repo.js';
import { type ApiHost, startApiHost } from './api-host.js';

/** Runs the CLI without blocking: the fake add-on answering the host lives in this process. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [distPath('cli.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, CONDUCTOR_FX_API_PORT: '' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

describe('conductor-fx CLI (built bundle, real host)', () => {
  let h: ApiHost;
  beforeAll(async () => {
    const build = spawnSync(process.execPath, ['scripts/build.mjs', 'cli'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`building the CLI failed: ${build.stderr}`);
    h = await startApiHost();
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  it('status reads token and port from the data dir and prints the circuit table', async () => {
    const run = await cli('status', '--data-dir', h.host.dataDir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^host: connected/);
    expect(run.stdout).toMatch(/mock\s+agent-1\s+closed/);
  });

  it('request relays through the host and prints the body', async () => {
    const run = await cli('request', 'mock', 'POST', '/api/chat', '--body', 'hello', '--data-dir', h.host.dataDir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ method: 'POST', path: '/api/chat', body: 'hello' });
    expect(run.stderr).toMatch(/HTTP 200 · request [0-9a-f-]{36}/);
  });

  it('exits 3 with the install-host hint once the host is gone (token and port files left behind)', async () => {
    h.host.kill('SIGKILL');
    await h.host.exited;
    const run = await cli('status', '--data-dir', h.host.dataDir);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('Firefox with conductor-fx is not running or the host is not registered: run `npm run install-host -- status`');
    // The CLI talks over the data dir's socket by default; the dead host left it behind.
    expect(run.stderr).toContain(`nothing listens at unix:${join(h.host.dataDir, 'api.sock')}`);
  });
});
