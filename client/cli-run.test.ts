import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSseEvent } from '../shared/sse.js';
import { ADMISSION, fakeBrowserStatus, fakeHostStatus } from '../test/api/fakes.js';
import { type FakeApiServer, json, startFakeApi } from '../test/api/fake-api-server.js';
import { EXIT, runCli } from './cli-run.js';

/** Runs the CLI with captured output. */
async function cli(argv: string[], tty = false) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (t: string) => (stdout += t), isTTY: tty },
    stderr: { write: (t: string) => (stderr += t) },
    now: () => 1_700_000_000_000,
  });
  return { code, stdout, stderr };
}

describe('conductor-fx CLI (against a fake API)', () => {
  let api: FakeApiServer;
  beforeEach(async () => {
    api = await startFakeApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('status prints the circuit table, coloured only on a TTY, or the JSON with --json', async () => {
    api.answer((_call, res) => json(res, 200, { ...fakeBrowserStatus(), hostStatus: fakeHostStatus(api.dataDir) }));
    const plain = await cli(['status', '--data-dir', api.dataDir]);
    expect(plain.code).toBe(EXIT.ok);
    expect(plain.stdout).toMatch(/^host: connected/);
    expect(plain.stdout).toMatch(/mock\s+firefox-default\s+closed/);
    expect(plain.stdout).not.toContain('\x1b[');
    expect((await cli(['status', '--data-dir', api.dataDir], true)).stdout).toContain('\x1b[32mclosed');
    const asJson = await cli(['status', '--json', '--data-dir', api.dataDir]);
    expect(JSON.parse(asJson.stdout).hostStatus.dataDir).toBe(api.dataDir);
  });

  it('request writes the body to stdout and the status to stderr; exit 1 when the platform answered >= 400', async () => {
    let status = 200;
    api.answer((_call, res) => json(res, 200, { request_id: 'r-1', status, headers: {}, body: '{"reply":"hi"}', admission: ADMISSION, replayed: false }));
    const ok = await cli(['request', 'mock', 'POST', '/api/chat', '--body', '{}', '--client', 'bot', '--data-dir', api.dataDir]);
    expect(ok).toMatchObject({ code: EXIT.ok, stdout: '{"reply":"hi"}' });
    expect(ok.stderr).toContain('HTTP 200 · request r-1');
    expect(JSON.parse(api.calls[0]!.body)).toMatchObject({ platform: 'mock', method: 'POST', path: '/api/chat', body: '{}', client_id: 'bot', stream: false });
    status = 404;
    expect((await cli(['request', 'mock', 'GET', '/missing', '--data-dir', api.dataDir])).code).toBe(EXIT.failed);
  });

  it('request --stream writes each piece to stdout as it comes', async () => {
    api.answer((_call, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(encodeSseEvent('stream_event', { seq: 0, data: 'one ' }, 0));
      res.write(encodeSseEvent('stream_event', { seq: 1, data: 'two' }, 1));
      res.end(encodeSseEvent('stream_end', { request_id: 'r-2', status: 200, headers: {}, body_length: 7, admission: ADMISSION, replayed: false }));
    });
    const run = await cli(['request', 'mock', 'POST', '/s', '--stream', '--data-dir', api.dataDir]);
    expect(run).toMatchObject({ code: EXIT.ok, stdout: 'one two' });
    expect(run.stderr).toContain('HTTP 200 · request r-2');
  });

  it('prints the host\'s error with what to do and the retry wait, and exits 1', async () => {
    api.answer((_call, res) => json(res, 429, { error: { code: 'circuit_open', message: 'circuit open for mock/bot', details: { retry_after_ms: 299_000 }, retry_after_ms: 299_000 } }));
    const run = await cli(['request', 'mock', 'GET', '/x', '--data-dir', api.dataDir]);
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain('error: circuit_open: circuit open for mock/bot (retry after 4:59)');
    expect(run.stderr).toContain('Retry-After');
  });

  it('journal, reset, pause and resume call their routes', async () => {
    api.answer((call, res) => {
      if (call.url.startsWith('/v1/journal')) return json(res, 200, { entries: [] });
      if (call.url.endsWith('/reset')) return json(res, 200, { reset: true });
      return json(res, 200, { paused: call.url.endsWith('/pause') });
    });
    expect(await cli(['journal', '--limit', '3', '--data-dir', api.dataDir])).toMatchObject({ code: 0, stdout: 'the journal is empty\n' });
    expect(await cli(['reset', 'claude', 'bot', '--data-dir', api.dataDir])).toMatchObject({ code: 0, stdout: 'reset claude/bot\n' });
    expect(await cli(['pause', 'lunch', 'break', '--data-dir', api.dataDir])).toMatchObject({ code: 0, stdout: 'paused: lunch break\n' });
    expect(await cli(['resume', '--data-dir', api.dataDir])).toMatchObject({ code: 0, stdout: 'resumed\n' });
    expect(api.calls.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /v1/journal?limit=3', 'POST /v1/browser/targets/claude/bot/reset', 'POST /v1/system/pause', 'POST /v1/system/resume']);
    expect(JSON.parse(api.calls[2]!.body)).toEqual({ reason: 'lunch break' });
  });

  it('policy reload calls POST /v1/policy/reload and says which file runs; a refused file prints the field and exits 1', async () => {
    let refused = false;
    api.answer((_call, res) =>
      refused
        ? json(res, 400, { error: { code: 'bad_payload', message: 'policy.json refused: rateLimit.windowMs: Too small', details: { issues: [{ path: 'rateLimit.windowMs', message: 'Too small' }] } } })
        : json(res, 200, { applied: true, source: '/d/policy.json', error: null }),
    );
    expect(await cli(['policy', 'reload', '--data-dir', api.dataDir])).toMatchObject({ code: EXIT.ok, stdout: 'policy applied (/d/policy.json)\n' });
    expect(api.calls.map((c) => `${c.method} ${c.url}`)).toEqual(['POST /v1/policy/reload']);
    refused = true;
    const run = await cli(['policy', 'reload', '--data-dir', api.dataDir]);
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain('error: bad_payload: policy.json refused: rateLimit.windowMs: Too small');
  });
});

describe('conductor-fx CLI without a host', () => {
  it('exits 3 with the install-host hint when the data dir has no token', async () => {
    const run = await cli(['status', '--data-dir', '/nonexistent/conductor-fx']);
    expect(run.code).toBe(EXIT.hostUnavailable);
    expect(run.stderr).toContain('Firefox with conductor-fx is not running or the host is not registered: run `npm run install-host -- status`');
  });

  it('exits 2 on a usage error and 0 with the usage on --help', async () => {
    expect(await cli(['request', 'mock'])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('usage: conductor-fx request') });
    expect(await cli(['--help'])).toMatchObject({ code: EXIT.ok, stdout: expect.stringContaining('exit codes') });
  });
});
