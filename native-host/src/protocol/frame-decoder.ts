import { ConductorError } from '../../../shared/errors.js';

/** Native messaging frame header: a 4-byte unsigned length, little-endian on every supported machine. */
export const FRAME_HEADER_BYTES = 4;

/** The default cap on one inbound frame; Firefox itself allows up to 4 GiB add-on → host. */
export const DEFAULT_MAX_INBOUND_BYTES = 64 * 1024 * 1024;

/**
 * Splits a byte stream into native-messaging frame bodies. Chunks may hold several frames, part
 * of one, or nothing; bytes are only copied once per frame (no re-concatenation per read), so a
 * large frame arriving in many small reads stays linear.
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read, once its header is in. */
  private expected: number | null = null;
  private failure: ConductorError | null = null;

  constructor(private readonly maxFrameBytes: number = DEFAULT_MAX_INBOUND_BYTES) {}

  /** Bytes received but not yet handed out as a frame (header included). */
  get pendingBytes(): number {
    return this.buffered + (this.expected === null ? 0 : FRAME_HEADER_BYTES);
  }

  /**
   * Takes one read and hands every completed frame body to `deliver`, in order. Throws a
   * ConductorError `too_large` when a header declares more than the cap (after delivering the
   * frames before it); the decoder then stays failed, since the stream can no longer be re-synchronised.
   */
  push(chunk: Uint8Array, deliver: (body: Buffer) => void): void {
    if (this.failure !== null) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.expected === null) {
        if (this.buffered < FRAME_HEADER_BYTES) return;
        const declared = this.take(FRAME_HEADER_BYTES).readUInt32LE(0);
        if (declared > this.maxFrameBytes) {
          this.failure = new ConductorError('too_large', `a frame declared ${declared} bytes, over the inbound cap of ${this.maxFrameBytes}`, {
            declared_bytes: declared,
            max_bytes: this.maxFrameBytes,
          });
          throw this.failure;
        }
        this.expected = declared;
      }
      if (this.buffered < this.expected) return;
      const body = this.take(this.expected);
      this.expected = null;
      deliver(body);
    }
  }

  /**
   * Called at end of input: throws a ConductorError `bad_json` (details.reason "truncated_frame")
   * when a frame was cut off, so the caller can tell a clean close from a broken one.
   */
  end(): void {
    if (this.failure !== null) throw this.failure;
    if (this.pendingBytes === 0) return;
    // expected_bytes null: the input ended inside the 4-byte header itself.
    throw new ConductorError('bad_json', 'input ended inside a frame', {
      reason: 'truncated_frame',
      expected_bytes: this.expected,
      received_bytes: this.buffered,
    });
  }

  /** Removes the first n buffered bytes (n <= buffered), copying only when they span chunks. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      this.consume(first, n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0] as Buffer;
      const part = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, part);
      filled += part;
      this.consume(head, part);
    }
    return out;
  }

  private consume(head: Buffer, n: number): void {
    if (n === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.buffered -= n;
  }
}
