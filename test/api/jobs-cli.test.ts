// `conductor-fx jobs …` and `conversations …` (runCli in this process) against the real host with the fake add-on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../client/cli-run.js';
import { type ApiHost, echoResponse, startApiHost } from './api-host.js';

describe('conductor-fx jobs and conversations (real host)', () => {
  let h: ApiHost;
  beforeAll(async () => {
    h = await startApiHost({ 'relay.request': (request) => echoResponse(request) });
  });
  afterAll(async () => {
    await h?.host.dispose();
  });

  async function cli(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCli([...argv, '--data-dir', h.host.dataDir], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, now: Date.now });
    return { code, stdout, stderr };
  }

  it('submits, watches, shows and lists a job', async () => {
    const submitted = await cli('jobs', 'submit', 'mock', 'post', '/chat', '--body', 'hi', '--client', 'cli-bot', '--idempotency-key', 'cli-1', '--max-attempts', '3', '--json');
    expect(submitted.code).toBe(EXIT.ok);
    const { job_id } = JSON.parse(submitted.stdout) as { job_id: string };
    const watched = await cli('jobs', 'watch', job_id);
    expect(watched.code).toBe(EXIT.ok);
    expect(watched.stderr).toMatch(/done/);
    const shown = await cli('jobs', 'show', job_id);
    expect(shown.stdout).toContain('attempt 1: done HTTP 200');
    expect(shown.stdout).toContain('"body":"hi"');
    const listed = await cli('jobs', 'list', '--status', 'done');
    expect(listed.stdout).toMatch(new RegExp(`${job_id}\\s+done\\s+mock\\s+cli-bot\\s+POST\\s+/chat\\s+1/3`));
    expect((await cli('jobs', 'submit', 'mock', 'POST', '/chat', '--body', 'hi', '--client', 'cli-bot', '--idempotency-key', 'cli-1', '--max-attempts', '3')).stdout).toContain('already submitted');
  });

  it('cancels a job due later, and exits 2 on a bad flag', async () => {
    const { stdout } = await cli('jobs', 'submit', 'mock', 'GET', '/later', '--not-before', new Date(Date.now() + 3_600_000).toISOString());
    const id = stdout.split(' ')[0]!;
    expect((await cli('jobs', 'cancel', id)).stdout).toBe(`${id} cancelled\n`);
    expect((await cli('jobs', 'show', id)).stdout).toMatch(/cancelled/);
    expect((await cli('jobs', 'submit', 'mock', 'GET', '/x', '--on-interrupt', 'maybe')).code).toBe(EXIT.usage);
    expect((await cli('jobs', 'cancel', 'job-unknown')).code).toBe(EXIT.failed);
  });

  it('lists, pauses and resumes conversations', async () => {
    await cli('jobs', 'submit', 'mock', 'POST', '/c', '--body', 'x', '--conversation', 'cli-conv');
    expect((await cli('conversations', 'pause', 'cli-conv', 'checking', 'by', 'hand')).stdout).toBe('cli-conv: paused (checking by hand)\n');
    expect((await cli('conversations', 'list')).stdout).toMatch(/cli-conv\s+mock\s+default\s+paused\s+\S+\s+0\s+checking by hand/);
    expect((await cli('conversations', 'resume', 'cli-conv')).stdout).toBe('cli-conv: manual\n');
    expect((await cli('conversations', 'auto', 'cli-conv')).stdout).toBe('cli-conv: auto\n');
    expect((await cli('conversations', 'auto', 'cli-conv', '--every-ms', '3600000', '--renew-path', '/renew', '--body', 'go on')).stdout).toBe('cli-conv: auto, renewal POST /renew every 1:00:00\n');
    expect((await cli('conversations', 'pause', 'cli-conv', '--every-ms', '5000')).code).toBe(EXIT.usage);
    expect((await cli('conversations', 'resume')).code).toBe(EXIT.usage);
  });
});
