import { describe, expect, it } from 'vitest';
import { Scheduler, SIM_EPOCH_MS } from './scheduler.js';

describe('Scheduler', () => {
  it('runs events in time order, ties in the order scheduled, and skips cancelled ones', async () => {
    const s = new Scheduler();
    const seen: string[] = [];
    s.after(20, () => seen.push('b@20'));
    s.after(10, () => seen.push('a@10'));
    s.after(20, () => seen.push('c@20'));
    const cancelled = s.after(15, () => seen.push('never'));
    s.cancel(cancelled);
    s.after(31, () => seen.push('later'));
    await s.run(30);
    expect(seen).toEqual(['a@10', 'b@20', 'c@20']);
    expect(s.now).toBe(30);
    await s.run(31);
    expect(seen.at(-1)).toBe('later');
  });

  it('lets promise continuations of one event run before the next event', async () => {
    const s = new Scheduler();
    const seen: string[] = [];
    void (async () => {
      await s.sleep(10);
      seen.push(`woke@${s.now}`);
      await Promise.resolve();
      s.after(0, () => seen.push(`chained@${s.now}`));
    })();
    s.after(10, () => seen.push('second@10'));
    await s.run(100);
    expect(seen).toEqual(['woke@10', 'second@10', 'chained@10']);
  });

  it('makes the globals virtual inside withVirtualGlobals and restores them after', async () => {
    const s = new Scheduler();
    const realNow = Date.now;
    const realSetTimeout = globalThis.setTimeout;
    const inside = await s.withVirtualGlobals(() => 0.25, async () => {
      const fired: number[] = [];
      setTimeout(() => fired.push(Date.now()), 5_000);
      const t = setTimeout(() => fired.push(-1), 6_000);
      clearTimeout(t);
      await s.run(10_000);
      return { fired, random: Math.random() };
    });
    expect(inside).toEqual({ fired: [SIM_EPOCH_MS + 5_000], random: 0.25 });
    expect(Date.now).toBe(realNow);
    expect(globalThis.setTimeout).toBe(realSetTimeout);
  });
});
