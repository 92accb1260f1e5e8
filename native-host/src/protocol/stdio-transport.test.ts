import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ConductorError, ErrorBody } from '../../../shared/errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { encodeFrame } from './frame-encoder.js';
import { StdioTransport } from './stdio-transport.js';

interface Seen {
  frames: string[];
  bad: ErrorBody[];
  closed: number;
  fatal: ConductorError[];
}

function setup(output: Writable = new PassThrough(), maxInboundBytes = 1024) {
  const input = new PassThrough();
  const seen: Seen = { frames: [], bad: [], closed: 0, fatal: [] };
  const transport = new StdioTransport({
    input,
    output,
    maxInboundBytes,
    onFrame: (t) => seen.frames.push(t),
    onBadFrame: (e) => seen.bad.push(e),
    onClose: () => (seen.closed += 1),
    onFatal: (e) => seen.fatal.push(e),
  });
  transport.start();
  return { input, output, seen, transport };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('StdioTransport', () => {
  it('reads frames from the input and reports a clean end as a close', async () => {
    const { input, seen } = setup();
    input.write(Buffer.concat([encodeFrame('{"a":1}'), encodeFrame('{"b":2}').subarray(0, 5)]));
    input.end(encodeFrame('{"b":2}').subarray(5));
    await tick();
    expect(seen.frames).toEqual(['{"a":1}', '{"b":2}']);
    expect(seen).toMatchObject({ closed: 1, fatal: [] });
  });

  it('writes nothing but frames to the output', async () => {
    const { output, transport } = setup();
    const bytes: Buffer[] = [];
    output.on('data', (c: Buffer) => bytes.push(c));
    transport.send('{"x":"ü"}');
    transport.send('{}');
    await transport.flush();
    const texts: string[] = [];
    new FrameDecoder().push(Buffer.concat(bytes), (b) => texts.push(b.toString('utf8')));
    expect(texts).toEqual(['{"x":"ü"}', '{}']);
  });

  it('reports a frame of invalid UTF-8 and keeps reading', async () => {
    const { input, seen } = setup();
    const broken = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(broken.length, 0);
    input.write(Buffer.concat([header, broken, encodeFrame('{"next":true}')]));
    await tick();
    expect(seen.bad).toEqual([{ code: 'bad_json', message: 'frame is not valid UTF-8', details: { bytes: 4 } }]);
    expect(seen.frames).toEqual(['{"next":true}']);
  });

  it('is fatal on a declared length over the cap, and stops reading', async () => {
    const { input, seen } = setup(new PassThrough(), 8);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(9, 0);
    input.write(header);
    input.write(encodeFrame('{}'));
    await tick();
    expect(seen.fatal.map((e) => e.code)).toEqual(['too_large']);
    expect(seen.frames).toEqual([]);
    expect(seen.closed).toBe(0);
  });

  it('is fatal when the input ends inside a frame', async () => {
    const { input, seen } = setup();
    input.end(encodeFrame('{"cut":1}').subarray(0, 7));
    await tick();
    expect(seen.fatal.map((e) => e.details?.['reason'])).toEqual(['truncated_frame']);
    expect(seen.closed).toBe(0);
  });

  it('flush waits for a slow output to take every frame', async () => {
    const taken: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, done) {
        setTimeout(() => {
          taken.push(chunk);
          done();
        }, 5);
      },
    });
    const { transport } = setup(slow);
    for (let i = 0; i < 20; i++) transport.send(`{"i":${i}}`);
    await transport.flush();
    expect(taken).toHaveLength(20);
  });

  it('treats a broken output (the reader is gone) as a close', async () => {
    const failing = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const { transport, seen } = setup(failing);
    transport.send('{}');
    await transport.flush();
    await tick();
    expect(seen.closed).toBe(1);
  });
});
