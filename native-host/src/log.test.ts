import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTempDirs } from '../../test/host/temp-store.js';
import { createLogger } from './log.js';

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
