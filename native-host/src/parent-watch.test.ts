import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { processExists, watchParent } from './parent-watch.js';

function setup(alive: (pid: number) => boolean = () => true) {
  let ppid = 100;
  const onGone = vi.fn();
  const stop = watchParent({
    currentParent: () => ppid,
    exists: alive,
    intervalMs: 250,
    timers: { setInterval: (fn, ms) => setInterval(fn, ms), clearInterval: (h) => clearInterval(h as NodeJS.Timeout) },
    onGone,
  });
  return { onGone, stop, reparent: (pid: number) => (ppid = pid) };
}

describe('watchParent', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('calls onGone once, at the next poll after the host was re-parented', () => {
    const { onGone, reparent } = setup();
    vi.advanceTimersByTime(1_000);
    expect(onGone).not.toHaveBeenCalled();
    reparent(1);
    vi.advanceTimersByTime(250);
    expect(onGone).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1_000);
    expect(onGone).toHaveBeenCalledTimes(1);
  });

  it('calls onGone when the original parent no longer exists, even with an unchanged ppid', () => {
    let alive = true;
    const { onGone } = setup(() => alive);
    vi.advanceTimersByTime(500);
    alive = false;
    vi.advanceTimersByTime(250);
    expect(onGone).toHaveBeenCalledTimes(1);
  });

  it('stops polling once stopped', () => {
    const { onGone, stop, reparent } = setup();
    stop();
    reparent(1);
    vi.advanceTimersByTime(1_000);
    expect(onGone).not.toHaveBeenCalled();
  });
});

describe('processExists', () => {
  it('tells this process from a pid that cannot exist', () => {
    expect(processExists(process.pid)).toBe(true);
    expect(processExists(2 ** 30)).toBe(false);
  });
});
