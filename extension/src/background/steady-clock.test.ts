import { describe, expect, it } from 'vitest';
import { FakeClock } from '../policy/test-clock.js';
import type { PolicyClock } from '../policy/types.js';
import { steadyClock } from './steady-clock.js';

/** A fake clock whose wall reading can be moved without the monotonic one (a clock jump). */
function jumpable(): { fake: FakeClock; clock: PolicyClock; jump(ms: number): void } {
  const fake = new FakeClock(Date.UTC(2026, 0, 1));
  let offset = 0;
  const clock: PolicyClock = {
    now: () => fake.now() + offset,
    monotonic: () => fake.monotonic() + 0.25,
    setTimeout: (fn, ms) => fake.setTimeout(fn, ms),
    clearTimeout: (h) => fake.clearTimeout(h),
    random: () => fake.random(),
  };
  return { fake, clock, jump: (ms) => (offset += ms) };
}

describe('steadyClock', () => {
  it('starts at the wall time and advances with the monotonic clock in whole ms', async () => {
    const { fake, clock } = jumpable();
    const steady = steadyClock(clock);
    expect(steady.now()).toBe(Date.UTC(2026, 0, 1));
    await fake.advance(1_500);
    expect(steady.now()).toBe(Date.UTC(2026, 0, 1) + 1_500);
    expect(Number.isInteger(steady.now())).toBe(true);
  });

  it('ignores wall-clock jumps forward and back while it runs', async () => {
    const { fake, clock, jump } = jumpable();
    const steady = steadyClock(clock);
    jump(3_600_000);
    await fake.advance(10_000);
    expect(steady.now()).toBe(Date.UTC(2026, 0, 1) + 10_000);
    jump(-7_200_000);
    expect(steady.now()).toBe(Date.UTC(2026, 0, 1) + 10_000);
  });

  it('reads the wall clock again when built anew (a restart), and passes timers and randomness through', async () => {
    const { fake, clock, jump } = jumpable();
    jump(60_000);
    const steady = steadyClock(clock);
    expect(steady.now()).toBe(Date.UTC(2026, 0, 1) + 60_000);
    let fired = 0;
    steady.setTimeout(() => fired++, 100);
    const cancelled = steady.setTimeout(() => fired++, 100);
    steady.clearTimeout(cancelled);
    fake.queueRandom(0.125);
    await fake.advance(100);
    expect(fired).toBe(1);
    expect(steady.random()).toBe(0.125);
  });
});
