import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../shared/errors.js';
import type { RelayChunk } from '../../shared/relay.js';
import { NativeExtensionLink, type ExtensionCaller } from './extension-link.js';

function fakeCaller(): ExtensionCaller & { calls: unknown[]; failed: ConductorError[] } {
  const calls: unknown[] = [];
  const failed: ConductorError[] = [];
  return {
    calls,
    failed,
    request: (type, payload, options) => {
      calls.push({ type, payload, options });
      return Promise.resolve({ paused: false } as never);
    },
    failAll: (error) => failed.push(error),
  };
}

const chunk = (requestId: string, seq: number): RelayChunk => ({ requestId, seq, data: `d${seq}` });

describe('NativeExtensionLink', () => {
  it('is not connected, and refuses requests, until the add-on says hello', async () => {
    const caller = fakeCaller();
    const link = new NativeExtensionLink(caller);
    expect(link.connected).toBe(false);
    await expect(link.request('control.resume', {})).rejects.toMatchObject({ code: 'extension_unavailable' });
    link.markHello();
    expect(link.connected).toBe(true);
    await expect(link.request('control.resume', {}, { timeoutMs: 5 })).resolves.toEqual({ paused: false });
    expect(caller.calls).toEqual([{ type: 'control.resume', payload: {}, options: { timeoutMs: 5 } }]);
  });

  it('on close fails the waiting requests and refuses new ones', async () => {
    const caller = fakeCaller();
    const link = new NativeExtensionLink(caller);
    link.markHello();
    link.markClosed();
    expect(link.connected).toBe(false);
    expect(caller.failed.map((e) => e.code)).toEqual(['extension_unavailable']);
    await expect(link.request('browser.status', {})).rejects.toMatchObject({ code: 'extension_unavailable' });
  });

  it('reports a schema fault between host and add-on as internal_error, never as the caller\'s bad_payload', async () => {
    const caller = fakeCaller();
    caller.request = () => Promise.reject(new ConductorError('bad_payload', 'result of browser.status is invalid', { issues: [] }));
    const link = new NativeExtensionLink(caller);
    link.markHello();
    await expect(link.request('browser.status', {})).rejects.toMatchObject({ code: 'internal_error', details: { issues: [] } });
    caller.request = () => Promise.reject(new ConductorError('no_tab', 'no tab'));
    await expect(link.request('browser.status', {})).rejects.toMatchObject({ code: 'no_tab' });
  });

  it('routes chunks by request id to their listeners until unsubscribed', () => {
    const link = new NativeExtensionLink(fakeCaller());
    const a: RelayChunk[] = [];
    const b: RelayChunk[] = [];
    const offA = link.onChunk('req-a', (c) => a.push(c));
    link.onChunk('req-b', (c) => b.push(c));
    link.deliverChunk(chunk('req-a', 0));
    link.deliverChunk(chunk('req-b', 0));
    link.deliverChunk(chunk('nobody', 0));
    offA();
    link.deliverChunk(chunk('req-a', 1));
    expect(a).toEqual([chunk('req-a', 0)]);
    expect(b).toEqual([chunk('req-b', 0)]);
  });
});
