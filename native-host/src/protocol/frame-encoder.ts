import { FRAME_HEADER_BYTES } from './frame-decoder.js';

/** Encodes one JSON text as a native-messaging frame: 4-byte little-endian byte length, then the UTF-8 bytes. */
export function encodeFrame(json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32LE(length, 0);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  return frame;
}
