import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHostBuilt, startHost } from '../helpers/host-process.js';

beforeAll(ensureHostBuilt);

describe('one live host per data dir', () => {
  it('a second host answers db_locked with the owner pid, and a later host takes over from a killed owner', async () => {
    const owner = startHost();
    const dataDir = owner.dataDir;
    try {
      await owner.hello();
      const second = startHost({ dataDir });
      try {
        await expect(second.request('ping', {})).resolves.toBeDefined();
        await expect(second.hello()).rejects.toMatchObject({ code: 'db_locked', details: { pid: owner.pid } });
        await expect(second.request('journal.list', {})).rejects.toMatchObject({ code: 'db_locked' });
        await second.waitForStderr('data dir unavailable');
        // The owner is not disturbed.
        await expect(owner.request('journal.record', { entries: [] as never })).rejects.toMatchObject({ code: 'bad_payload' });
        await expect(owner.request('status.get', {})).resolves.toMatchObject({ pid: owner.pid, extensionConnected: true });
      } finally {
        await second.dispose();
      }
      owner.kill('SIGKILL');
      await owner.exited;
      const successor = startHost({ dataDir });
      try {
        await expect(successor.hello()).resolves.toMatchObject({ schemaVersion: expect.any(Number) });
        expect((await successor.request('status.get', {})).pid).toBe(successor.pid);
      } finally {
        await successor.dispose();
      }
    } finally {
      await owner.dispose();
    }
  });

  it('keeps serving the add-on when the API port is taken, and says so in hello and status', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const host = startHost({ env: { CONDUCTOR_FX_API_PORT: String(port) } });
    try {
      const hello = await host.hello();
      expect(hello.api.listening).toBe(false);
      expect(hello.api.error).toContain(String(port));
      expect((await host.request('status.get', {})).api).toEqual(hello.api);
      await host.waitForStderr('api.error');
      await expect(host.request('journal.list', {})).resolves.toEqual({ entries: [] });
    } finally {
      await host.dispose();
      blocker.close();
    }
  });
});
