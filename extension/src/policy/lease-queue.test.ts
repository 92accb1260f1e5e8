import { describe, expect, it } from 'vitest';
import { ConductorError } from '../../../shared/errors.js';
import { LeaseQueue, Waiter } from './lease-queue.js';
import { FakeClock } from './test-clock.js';

describe('Waiter', () => {
  it('gives up with waiter_timeout after its timeout, once', async () => {
    const clock = new FakeClock();
    const w = new Waiter<string>(clock);
    const errors: ConductorError[] = [];
    w.arm(1000, undefined, (err) => {
      errors.push(err);
      w.reject(err);
    });
    await clock.advance(999);
    expect(errors).toHaveLength(0);
    await clock.advance(1);
    expect(errors.map((e) => e.code)).toEqual(['waiter_timeout']);
    await expect(w.promise).rejects.toMatchObject({ code: 'waiter_timeout' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives up with cancelled when the signal aborts, and stops listening once settled', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const w = new Waiter<string>(clock);
    const codes: string[] = [];
    w.arm(1000, controller.signal, (err) => {
      codes.push(err.code);
      w.reject(err);
    });
    controller.abort();
    await expect(w.promise).rejects.toMatchObject({ code: 'cancelled' });
    expect(codes).toEqual(['cancelled']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('settles once and disarms its timers on resolve', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const w = new Waiter<string>(clock);
    let gaveUp = 0;
    w.arm(1000, controller.signal, () => gaveUp++);
    let slept = 0;
    w.sleep(500, () => slept++);
    expect(w.sleeping).toBe(true);
    w.resolve('lease');
    w.reject(new Error('late'));
    controller.abort();
    await clock.advance(2000);
    await expect(w.promise).resolves.toBe('lease');
    expect(gaveUp).toBe(0);
    expect(slept).toBe(0);
    expect(w.settled).toBe(true);
  });

  it('runs a stage sleep after its time unless cleared', async () => {
    const clock = new FakeClock();
    const w = new Waiter<string>(clock);
    const ran: string[] = [];
    w.sleep(300, () => ran.push('first'));
    w.clearStage();
    w.sleep(200, () => ran.push('second'));
    await clock.advance(1000);
    expect(ran).toEqual(['second']);
    expect(w.sleeping).toBe(false);
  });
});

describe('LeaseQueue', () => {
  it('is FIFO, removes from the middle and drains', () => {
    const q = new LeaseQueue<string>();
    q.push('a');
    q.push('b');
    q.push('c');
    expect(q.remove('b')).toBe(true);
    expect(q.remove('b')).toBe(false);
    expect(q.some((x) => x === 'c')).toBe(true);
    expect(q.shift()).toBe('a');
    expect(q.length).toBe(1);
    expect(q.drain()).toEqual(['c']);
    expect(q.length).toBe(0);
  });
});
