import { setTimeout as sleep } from 'node:timers/promises';

/** How often a bounded wait re-checks its condition. */
const POLL_MS = 100;

/**
 * Polls `probe` until it returns a value other than undefined, and returns that value. Fails
 * after `timeoutMs` with a message naming what was awaited and the last thing seen, so a
 * timed-out end-to-end step says which component did not get there.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(POLL_MS);
  }
}
