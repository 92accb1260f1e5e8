import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { encodeFrame } from './frame-encoder.js';

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) decoder.push(chunk, (body) => out.push(body.toString('utf8')));
  return out;
}

/** What `fn` threw (it must throw). */
function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('FrameDecoder', () => {
  it('hands out several frames that arrive in one read, in order', () => {
    const bytes = Buffer.concat([encodeFrame('{"a":1}'), encodeFrame('[]'), encodeFrame('"x"')]);
    expect(decodeAll(new FrameDecoder(), [bytes])).toEqual(['{"a":1}', '[]', '"x"']);
  });

  it('reassembles frames split at every byte, header included', () => {
    const bytes = Buffer.concat([encodeFrame('{"first":true}'), encodeFrame('{"second":"ünï"}')]);
    const oneByteReads = [...bytes].map((b) => Uint8Array.of(b));
    expect(decodeAll(new FrameDecoder(), oneByteReads)).toEqual(['{"first":true}', '{"second":"ünï"}']);
  });

  it('takes 0-length reads in its stride', () => {
    const frame = encodeFrame('{"k":"v"}');
    const decoder = new FrameDecoder();
    expect(decodeAll(decoder, [new Uint8Array(0), frame.subarray(0, 6), new Uint8Array(0), frame.subarray(6)])).toEqual(['{"k":"v"}']);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('counts the declared length in bytes, so multibyte UTF-8 is read whole', () => {
    const text = JSON.stringify({ s: '日本語 🎉 é' });
    const frame = encodeFrame(text);
    expect(frame.readUInt32LE(0)).toBe(Buffer.byteLength(text));
    expect(frame.readUInt32LE(0)).toBeGreaterThan(text.length);
    // Split inside the emoji's four bytes.
    const cut = frame.indexOf(Buffer.from('🎉')) + 2;
    expect(decodeAll(new FrameDecoder(), [frame.subarray(0, cut), frame.subarray(cut)])).toEqual([text]);
  });

  it('delivers an empty frame as an empty body', () => {
    expect(decodeAll(new FrameDecoder(), [Buffer.alloc(4)])).toEqual(['']);
  });

  it('refuses a declared length over the cap after delivering the frames before it, and stays failed', () => {
    const decoder = new FrameDecoder(16);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(17, 0);
    const got: string[] = [];
    const err = thrown(() => decoder.push(Buffer.concat([encodeFrame('{"ok":1}'), header]), (b) => got.push(b.toString())));
    expect(got).toEqual(['{"ok":1}']);
    expect(err).toBeInstanceOf(ConductorError);
    expect(err).toMatchObject({ code: 'too_large', details: { declared_bytes: 17, max_bytes: 16 } });
    expect(thrown(() => decoder.push(encodeFrame('{}'), () => undefined))).toMatchObject({ code: 'too_large' });
  });

  it('accepts a frame of exactly the cap', () => {
    expect(decodeAll(new FrameDecoder(4), [encodeFrame('"ab"')])).toEqual(['"ab"']);
  });

  it('ends cleanly between frames', () => {
    const decoder = new FrameDecoder();
    decodeAll(decoder, [encodeFrame('{}')]);
    expect(() => decoder.end()).not.toThrow();
  });

  it('reports a frame cut off inside its body at end of input', () => {
    const decoder = new FrameDecoder();
    decodeAll(decoder, [encodeFrame('{"long":"value"}').subarray(0, 10)]);
    expect(thrown(() => decoder.end())).toMatchObject({ code: 'bad_json', details: { reason: 'truncated_frame', expected_bytes: 16, received_bytes: 6 } });
  });

  it('reports input that ends inside a header', () => {
    const decoder = new FrameDecoder();
    decodeAll(decoder, [Uint8Array.of(5, 0)]);
    expect(thrown(() => decoder.end())).toMatchObject({ details: { reason: 'truncated_frame', expected_bytes: null, received_bytes: 2 } });
  });

  it('decodes a large frame arriving in many small reads', () => {
    const text = JSON.stringify({ blob: 'x'.repeat(3 * 1024 * 1024) });
    const frame = encodeFrame(text);
    const reads: Buffer[] = [];
    for (let at = 0; at < frame.length; at += 65_536) reads.push(frame.subarray(at, at + 65_536));
    const out = decodeAll(new FrameDecoder(), reads);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(text);
  });
});
