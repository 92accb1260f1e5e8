import type { Readable, Writable } from 'node:stream';
import { ConductorError, type ErrorBody } from '../../../shared/errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { encodeFrame } from './frame-encoder.js';

/** What the transport tells its owner. */
export interface StdioTransportHandlers {
  /** One decoded frame, as UTF-8 text (not yet parsed). */
  onFrame(text: string): void;
  /** A frame that could not be turned into text (invalid UTF-8); the stream goes on. */
  onBadFrame(error: ErrorBody): void;
  /** The input ended cleanly between frames, or the output broke (the add-on is gone). */
  onClose(): void;
  /** The stream can no longer be trusted: a declared length over the cap, or a frame cut off at EOF. */
  onFatal(error: ConductorError): void;
}

export interface StdioTransportOptions extends StdioTransportHandlers {
  input: Readable;
  output: Writable;
  maxInboundBytes: number;
}

/**
 * Framed native messaging over a byte stream pair (the host's stdin/stdout). Only frames are ever
 * written to the output. Writes are queued by the stream itself; `flush()` waits for every queued
 * byte to be handed to the OS, so shutdown never drops a reply.
 */
export class StdioTransport {
  private readonly decoder: FrameDecoder;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private unflushed = 0;
  private readonly flushWaiters: (() => void)[] = [];
  private closed = false;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onEnd = (): void => this.inputEnded();

  constructor(private readonly opts: StdioTransportOptions) {
    this.decoder = new FrameDecoder(opts.maxInboundBytes);
    // A write to a pipe whose reader is gone fails with EPIPE: that is a close, not a crash.
    opts.output.on('error', () => this.close());
  }

  /** Starts reading the input (separate from construction so the owner can finish its setup first). */
  start(): void {
    this.opts.input.on('data', this.onData);
    this.opts.input.once('end', this.onEnd);
  }

  /** Writes one JSON text as a frame; silently dropped once the transport is closed. */
  send(json: string): void {
    if (this.closed) return;
    this.unflushed += 1;
    this.opts.output.write(encodeFrame(json), () => this.written());
  }

  /** Resolves once every frame sent so far has left the process (or the output broke). */
  flush(): Promise<void> {
    if (this.unflushed === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /** Stops reading; later sends are dropped. */
  stop(): void {
    this.opts.input.off('data', this.onData);
    this.opts.input.off('end', this.onEnd);
    this.opts.input.pause();
  }

  private receive(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (body) => this.deliver(body));
    } catch (err) {
      this.stop();
      this.opts.onFatal(err as ConductorError);
    }
  }

  private deliver(body: Buffer): void {
    let text: string;
    try {
      text = this.utf8.decode(body);
    } catch {
      this.opts.onBadFrame({ code: 'bad_json', message: 'frame is not valid UTF-8', details: { bytes: body.length } });
      return;
    }
    this.opts.onFrame(text);
  }

  private inputEnded(): void {
    try {
      this.decoder.end();
    } catch (err) {
      this.opts.onFatal(err as ConductorError);
      return;
    }
    this.close();
  }

  private written(): void {
    this.unflushed -= 1;
    if (this.unflushed === 0) this.releaseFlushWaiters();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseFlushWaiters();
    this.opts.onClose();
  }

  private releaseFlushWaiters(): void {
    for (const resolve of this.flushWaiters.splice(0)) resolve();
  }
}
