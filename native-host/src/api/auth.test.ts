import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/api/fakes.js';
import { checkBearer, loadOrCreateToken } from './auth.js';

describe('api token', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cfx-auth-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is created on first start with mode 0600 and read back unchanged later', async () => {
    const token = await loadOrCreateToken(dir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(join(dir, 'api-token'))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateToken(dir)).toBe(token);
    expect((await readFile(join(dir, 'api-token'), 'utf8')).trim()).toBe(token);
  });

  it('differs between data dirs (random, not derived)', async () => {
    const other = await mkdtemp(join(tmpdir(), 'cfx-auth-'));
    try {
      expect(await loadOrCreateToken(other)).not.toBe(await loadOrCreateToken(dir));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('narrows a token file others can read back to 0600', async () => {
    await writeFile(join(dir, 'api-token'), 'a-token-of-enough-length\n');
    await chmod(join(dir, 'api-token'), 0o644);
    expect(await loadOrCreateToken(dir)).toBe('a-token-of-enough-length');
    expect((await stat(join(dir, 'api-token'))).mode & 0o777).toBe(0o600);
  });

  it('refuses an empty token file instead of serving with it', async () => {
    await writeFile(join(dir, 'api-token'), '\n', { mode: 0o600 });
    await expect(loadOrCreateToken(dir)).rejects.toThrow(/no usable token/);
  });
});

describe('checkBearer', () => {
  const token = 'secret-token-value-0123456789';
  const refused = (header: string | undefined) => thrownCode(() => checkBearer(header, token)) === 'unauthorized';

  it('accepts the token as a bearer credential', () => {
    expect(refused(`Bearer ${token}`)).toBe(false);
    expect(refused(`bearer ${token}`)).toBe(false);
  });

  it('refuses a missing, wrong, truncated or differently-schemed credential', () => {
    expect(refused(undefined)).toBe(true);
    expect(refused('Bearer wrong')).toBe(true);
    expect(refused(`Bearer ${token.slice(0, -1)}`)).toBe(true);
    expect(refused(`Basic ${token}`)).toBe(true);
    expect(refused(token)).toBe(true);
  });
});
