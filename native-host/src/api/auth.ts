import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_TOKEN_FILE } from '../../../shared/api.js';
import { ConductorError } from '../../../shared/errors.js';

const TOKEN_MODE = 0o600;

/**
 * Reads the bearer token from `<dataDir>/api-token`, creating it (32 random bytes, mode 0600)
 * on first start. A token file others could read is narrowed back to 0600.
 */
export async function loadOrCreateToken(dataDir: string): Promise<string> {
  const file = join(dataDir, API_TOKEN_FILE);
  try {
    await writeFile(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: TOKEN_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, TOKEN_MODE);
  const token = (await readFile(file, 'utf8')).trim();
  if (token.length < 16) throw new Error(`${file} holds no usable token; delete it and restart the host to make a new one`);
  return token;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Checks an Authorization header against the token in constant time; throws unauthorized. */
export function checkBearer(authorization: string | undefined, token: string): void {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  // Digests have one length, so the comparison takes the same time whatever was sent.
  if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), digest(token))) {
    throw new ConductorError('unauthorized', `send the token from the data dir's ${API_TOKEN_FILE} as "Authorization: Bearer <token>"`);
  }
}
