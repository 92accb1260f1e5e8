import { describe, expect, it } from 'vitest';
import { encodeFrame } from './frame-encoder.js';

describe('encodeFrame', () => {
  it('prefixes the UTF-8 bytes with their little-endian byte count', () => {
    const frame = encodeFrame('{"a":"é"}');
    expect([...frame.subarray(0, 4)]).toEqual([10, 0, 0, 0]);
    expect(frame.subarray(4).toString('utf8')).toBe('{"a":"é"}');
  });

  it('writes lengths above 255 across the header bytes', () => {
    const frame = encodeFrame(`"${'x'.repeat(298)}"`);
    expect([...frame.subarray(0, 4)]).toEqual([44, 1, 0, 0]);
    expect(frame.length).toBe(304);
  });
});
