import type { ServerResponse } from 'node:http';
import { encodeSseEvent } from '../../../shared/sse.js';

/**
 * Writes one text/event-stream answer. The headers go out with the first event, so an error
 * that comes before any event can still be answered with its own HTTP status.
 */
export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  /** Whether the 200 and the event-stream headers were sent. */
  get opened(): boolean {
    return this.res.headersSent;
  }

  /** Sends one event (opening the stream first); a no-op once the client is gone. */
  send(event: string, data: unknown, id?: number): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    if (!this.opened) {
      this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    }
    this.res.write(encodeSseEvent(event, data, id));
  }

  /** Ends the stream. */
  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
