import { describe, expect, it } from 'vitest';
import { SseDecoder, encodeSseEvent } from './sse.js';

describe('SSE framing', () => {
  it('round-trips events whose data holds newlines, split at every possible point', () => {
    const wire = encodeSseEvent('stream_event', { seq: 0, data: 'a\nb\n\nc' }, 0) + encodeSseEvent('stream_end', { status: 200 });
    for (let cut = 0; cut <= wire.length; cut += 1) {
      const decoder = new SseDecoder();
      const events = [...decoder.push(wire.slice(0, cut)), ...decoder.push(wire.slice(cut))];
      expect(events.map((e) => e.event)).toEqual(['stream_event', 'stream_end']);
      expect(JSON.parse(events[0]!.data)).toEqual({ seq: 0, data: 'a\nb\n\nc' });
      expect(decoder.pending).toBe(false);
    }
  });

  it('skips comments, joins multi-line data, accepts CRLF, and reports a cut-off event as pending', () => {
    const decoder = new SseDecoder();
    expect(decoder.push(': keep-alive\r\n\r\nevent: x\r\ndata: 1\r\ndata: 2\r\n\r\nevent: y\ndata: 3')).toEqual([{ event: 'x', data: '1\n2' }]);
    expect(decoder.pending).toBe(true);
  });

  it('names an event without an event line "message"', () => {
    expect(new SseDecoder().push('data: z\n\n')).toEqual([{ event: 'message', data: 'z' }]);
  });
});
