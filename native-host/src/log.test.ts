import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { useTempDirs } from '../../test/host/temp-store.js';
import { bestEffortSink, createLogger } from './log.js';

const tempDir = useTempDirs('log');
let dir: string;
beforeEach(() => {
  dir = tempDir();
});

function sink(): { lines: string[]; write(text: string): void } {
  const lines: string[] = [];
  return { lines, write: (text) => lines.push(text) };
}

describe('createLogger', () => {
  it('writes the same line to stderr and the file, with level and fields', () => {
    const stderr = sink();
    const file = join(dir, 'host.log');
    const log = createLogger({ stderr, filePath: file, now: () => Date.UTC(2030, 0, 2, 3, 4, 5) });
    log.warn('disk is slow', { ms: 12 });
    expect(stderr.lines).toEqual(['2030-01-02T03:04:05.000Z WARN disk is slow {"ms":12}\n']);
    expect(readFileSync(file, 'utf8')).toBe(stderr.lines[0]);
  });

  it('never writes the values of secret-looking fields', () => {
    const stderr = sink();
    const log = createLogger({ stderr, filePath: null });
    log.info('request', { authorization: 'Bearer abc', headers: { cookie: 's=1' }, apiToken: 't', body: 'prompt', platform: 'claude' });
    const line = stderr.lines.join('');
    for (const secret of ['Bearer abc', 's=1', '"t"', 'prompt']) expect(line).not.toContain(secret);
    expect(line).toContain('"platform":"claude"');
  });

  it('rotates the file to host.log.1 once it would pass the cap, keeping the size bounded', () => {
    const file = join(dir, 'host.log');
    const log = createLogger({ stderr: sink(), filePath: file, maxFileBytes: 200 });
    for (let i = 0; i < 20; i++) log.info(`line ${i} ${'x'.repeat(30)}`);
    expect(readFileSync(file).length).toBeLessThanOrEqual(200);
    expect(readFileSync(`${file}.1`).length).toBeLessThanOrEqual(200);
    expect(readFileSync(file, 'utf8')).toContain('line 19');
    expect(existsSync(`${file}.2`)).toBe(false);
  });

  it('keeps logging to stderr when the file cannot be written', () => {
    const stderr = sink();
    const log = createLogger({ stderr, filePath: join(dir, 'missing', 'dir', 'host.log') });
    log.error('still here');
    expect(stderr.lines).toHaveLength(1);
  });
});

describe('bestEffortSink', () => {
  /** A stream standing for a stderr whose reader is gone: every write fails with EPIPE. */
  function brokenPipe(): { stream: Writable; writes: () => number } {
    let writes = 0;
    const stream = new Writable({
      write(_chunk, _enc, done) {
        writes += 1;
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    return { stream, writes: () => writes };
  }

  it('reports the first failure once and writes nothing after it, so a logging error handler cannot loop', async () => {
    const { stream, writes } = brokenPipe();
    const onBroken = vi.fn();
    const sink = bestEffortSink(stream, onBroken);
    const log = createLogger({ stderr: sink, filePath: null });
    // An error handler that logs, as the host's uncaught-error handler does.
    stream.on('error', () => log.error('stderr failed'));
    log.info('first line');
    await new Promise((resolve) => setImmediate(resolve));
    expect(onBroken).toHaveBeenCalledTimes(1);
    expect(onBroken.mock.calls[0]?.[0]).toMatchObject({ code: 'EPIPE' });
    expect(sink.broken).toBe(true);
    log.info('later line');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes()).toBe(1);
  });

  it('treats a write that throws as a failure, and the logger still writes its file', () => {
    const file = join(dir, 'host.log');
    const onBroken = vi.fn();
    const throwing = new Writable();
    throwing.write = () => {
      throw new Error('EBADF');
    };
    const log = createLogger({ stderr: bestEffortSink(throwing, onBroken), filePath: file });
    log.warn('kept');
    log.warn('kept too');
    expect(onBroken).toHaveBeenCalledTimes(1);
    expect(readFileSync(file, 'utf8')).toContain('kept too');
  });
});
