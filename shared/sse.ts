/**
 * Server-Sent Events framing for the loopback API's streamed answers: the host encodes, the
 * client decodes. Payloads are JSON on one `data:` line (JSON.stringify escapes newlines).
 */

/** One decoded event. */
export interface SseMessage {
  event: string;
  data: string;
}

/** One event in wire form, optionally with an `id:` line. */
export function encodeSseEvent(event: string, data: unknown, id?: number): string {
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/** Incremental decoder: feed text as it arrives (any split), get the complete events. */
export class SseDecoder {
  private buffer = '';

  /** Adds received text; returns the events it completed, in order. */
  push(text: string): SseMessage[] {
    this.buffer += text.replace(/\r\n?/g, '\n');
    const out: SseMessage[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message = parseBlock(block);
      if (message !== null) out.push(message);
    }
    return out;
  }

  /** Whether text is left over that never formed a whole event (a cut-off stream). */
  get pending(): boolean {
    return this.buffer.trim() !== '';
  }
}

function parseBlock(block: string): SseMessage | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? null : { event, data: data.join('\n') };
}
