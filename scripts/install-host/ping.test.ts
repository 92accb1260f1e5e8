import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pingHost, type HostProcess } from './ping.js';

const FAST = { answerMs: 200, exitMs: 200 };

function frame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** A host process made of in-memory pipes; `behave` decides what it does with each request it reads. */
class FakeHost extends EventEmitter implements HostProcess {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly requests: unknown[] = [];
  readonly signals: string[] = [];
  private closed = false;

  constructor(behave: (host: FakeHost, request: { id: string; type: string }) => void, exitOnStdinEnd = true) {
    super();
    this.stdin.on('data', (chunk: Buffer) => {
      const request = JSON.parse(chunk.subarray(4).toString('utf8')) as { id: string; type: string };
      this.requests.push(request);
      behave(this, request);
    });
    if (exitOnStdinEnd) this.stdin.on('end', () => this.close(0, null));
  }

  kill(signal: NodeJS.Signals): boolean {
    this.signals.push(signal);
    this.close(null, signal);
    return true;
  }

  close(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => this.emit('close', code, signal));
  }
}

const answer = (payload: unknown) => (host: FakeHost, request: { id: string; type: string }) =>
  host.stdout.write(frame({ v: 1, kind: 'response', id: request.id, type: request.type, ok: true, payload }));

describe('pingHost', () => {
  it('sends a framed ping request and reads the host and schema versions', async () => {
    const host = new FakeHost(answer({ hostVersion: '0.1.0', schemaVersion: 2 }));
    const outcome = await pingHost(host, FAST);
    expect(host.requests).toEqual([{ v: 1, kind: 'request', id: 'install-host-status', type: 'ping', payload: {} }]);
    expect(outcome).toMatchObject({ ok: true, hostVersion: '0.1.0', schemaVersion: 2, exitedOnClose: true });
    expect(host.signals).toEqual([]);
  });

  it('reassembles a reply that arrives in pieces', async () => {
    const host = new FakeHost((h, request) => {
      const bytes = frame({ v: 1, kind: 'response', id: request.id, type: 'ping', ok: true, payload: { hostVersion: 'é', schemaVersion: 1 } });
      for (const byte of bytes) h.stdout.write(Buffer.from([byte]));
    });
    expect(await pingHost(host, FAST)).toMatchObject({ ok: true, hostVersion: 'é' });
  });

  it('reports an error response by its code', async () => {
    const host = new FakeHost((h, request) =>
      h.stdout.write(frame({ v: 1, kind: 'response', id: request.id, type: 'ping', ok: false, error: { code: 'db_locked', message: 'held by pid 42' } })),
    );
    expect(await pingHost(host, FAST)).toEqual({ ok: false, problem: 'the host answered the ping with db_locked: held by pid 42' });
  });

  it('reports a reply without the versions as a foreign host', async () => {
    const host = new FakeHost(answer({ pong: true }));
    const outcome = await pingHost(host, FAST);
    expect(outcome).toMatchObject({ ok: false, problem: expect.stringContaining('not the conductor-fx host') });
  });

  it('times out with a clear message and kills the host', async () => {
    const host = new FakeHost(() => host.stderr.write('migrating...\n'), false);
    const outcome = await pingHost(host, FAST);
    expect(outcome).toEqual({
      ok: false,
      problem: 'no answer to ping within 0.2 s: the host is stuck starting or does not speak the conductor-fx protocol; its stderr ends with: migrating...',
    });
    expect(host.signals).toEqual(['SIGKILL']);
  });

  it('reports a host that exits before answering, with the end of its stderr', async () => {
    const host = new FakeHost((h) => {
      h.stderr.write('Error: Cannot find module better-sqlite3\n');
      h.close(1, null);
    });
    expect(await pingHost(host, FAST)).toEqual({
      ok: false,
      problem: 'the host exited (code 1) before answering; its stderr ends with: Error: Cannot find module better-sqlite3',
    });
  });

  it('reports a launcher that cannot be started', async () => {
    const host = new FakeHost(() => undefined, false);
    setImmediate(() => host.emit('error', new Error('spawn EACCES')));
    expect(await pingHost(host, FAST)).toMatchObject({ ok: false, problem: 'the launcher could not be started: spawn EACCES' });
  });

  it('refuses a frame over the 1 MiB cap without waiting for it', async () => {
    const host = new FakeHost((h) => {
      const header = Buffer.alloc(4);
      header.writeUInt32LE(2 * 1024 * 1024, 0);
      h.stdout.write(header);
    });
    expect(await pingHost(host, { answerMs: 5_000, exitMs: 200 })).toMatchObject({ ok: false, problem: expect.stringContaining('2097152-byte frame') });
  });

  it('notices a host that keeps running after stdin closes, and kills it', async () => {
    const host = new FakeHost(answer({ hostVersion: '0.1.0', schemaVersion: 2 }), false);
    expect(await pingHost(host, FAST)).toMatchObject({ ok: true, exitedOnClose: false });
    expect(host.signals).toEqual(['SIGKILL']);
  });
});
