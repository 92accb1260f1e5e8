import { beforeAll, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION } from '../../native-host/src/store/migrations.js';
import { openArtifactDb } from '../../native-host/src/store/db.js';
import { ensureHostBuilt, requestEnvelope, startHost } from '../helpers/host-process.js';
import { persistedTarget } from './fixtures.js';

beforeAll(ensureHostBuilt);

function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(length, 0);
  return h;
}

describe('the host over framed stdio', () => {
  it('answers ping with its version and schema version', async () => {
    const host = startHost();
    try {
      await expect(host.request('ping', {})).resolves.toEqual({ hostVersion: __CONDUCTOR_FX_VERSION__, schemaVersion: LATEST_SCHEMA_VERSION });
    } finally {
      await host.dispose();
    }
  });

  it('answers malformed messages with typed errors and keeps serving the next frame', async () => {
    const host = startHost();
    try {
      host.writeFrame('{"v":1,"kind":"request","id":"broken-json",');
      host.writeFrame(JSON.stringify({ v: 2, kind: 'request', id: 'old-version', type: 'ping', payload: {} }));
      host.writeFrame(requestEnvelope('no-such-type', 'bogus.method'));
      host.writeFrame(requestEnvelope('bad-payload', 'journal.get', { requestId: 'has spaces' }));
      host.writeRaw(Buffer.concat([header(3), Buffer.from([0x7b, 0xc3, 0x7d])]));
      host.writeRaw(header(0));
      await expect(host.request('ping', {})).resolves.toMatchObject({ schemaVersion: LATEST_SCHEMA_VERSION });

      const errorOf = async (id: string) => {
        const env = await host.waitForEnvelope((e) => e.id === id);
        return env.kind === 'response' && !env.ok ? env.error.code : `not an error: ${JSON.stringify(env)}`;
      };
      expect(await errorOf('old-version')).toBe('bad_envelope');
      expect(await errorOf('no-such-type')).toBe('unknown_type');
      expect(await errorOf('bad-payload')).toBe('bad_payload');
      // Without a readable id nothing can be answered: only the ping's reply and the three errors came back.
      expect(host.received.filter((e) => e.kind === 'response')).toHaveLength(4);
      await host.waitForStderr('"code":"bad_json"');
    } finally {
      await host.dispose();
    }
  });

  it('exits 0 when Firefox closes its stdin, and on SIGTERM', async () => {
    const first = startHost();
    const second = startHost();
    try {
      await first.request('ping', {});
      await second.request('ping', {});
      first.closeStdin();
      second.kill('SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(await second.exited).toEqual({ code: 0, signal: null });
    } finally {
      await first.dispose();
      await second.dispose();
    }
  });

  it('ends non-zero on a declared length over the inbound cap, with the DB and saved state intact', async () => {
    const host = startHost({ env: { CONDUCTOR_FX_MAX_INBOUND_BYTES: '4096' } });
    try {
      await host.request('policy.save', { targets: [persistedTarget('claude', 'kept')] });
      host.writeRaw(header(4097));
      const exit = await host.exited;
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(host.stderr()).toMatch(/over the inbound cap of 4096/);
      const db = openArtifactDb(host.dataDir);
      try {
        expect(db.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.sqlite.prepare("SELECT key FROM browser_request_policy_state WHERE kind = 'target'").all()).toEqual([{ key: 'claude/kept' }]);
      } finally {
        db.close();
      }
    } finally {
      await host.dispose();
    }
  });

  it('refuses the default 64 MiB cap plus one byte without reading the body', async () => {
    const host = startHost();
    try {
      await host.request('ping', {});
      host.writeRaw(header(64 * 1024 * 1024 + 1));
      expect((await host.exited).code).toBe(1);
    } finally {
      await host.dispose();
    }
  });

  it('ends non-zero when stdin closes inside a frame', async () => {
    const host = startHost();
    try {
      await host.request('ping', {});
      host.writeRaw(Buffer.concat([header(100), Buffer.from('{"v":1,"kind":"req')]));
      host.closeStdin();
      expect((await host.exited).code).toBe(1);
      expect(host.stderr()).toContain('truncated_frame');
    } finally {
      await host.dispose();
    }
  });
});
