import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clockJumpsCheck } from './clock-jumps.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the clock-jumps proof check', () => {
  it('holds on the steady clock, and its stories catch the raw wall clock reopening circuits and emptying windows', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'cfx-clock-jumps-'));
    dirs.push(scratch);
    const result = await clockJumpsCheck.run({ full: false, scratch, log: () => undefined });
    expect(result.ok).toBe(true);
    expect(result.figures).toMatchObject({ circuitsReopenedEarly: 0, windowsEmptied: 0, leasesReclaimedEarly: 0, restartDriftMs: 0 });
    // The same stories without the steady clock fail: the check can tell.
    expect(result.figures['rawWallClockCircuitsReopenedEarly']).toBeGreaterThan(0);
    expect(result.figures['rawWallClockWindowsEmptied']).toBeGreaterThan(0);
  });
});
