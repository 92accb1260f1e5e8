import { describe, expect, it } from 'vitest';
import type { ServerSpec } from './profile.js';
import { SIM_EPOCH_MS } from './scheduler.js';
import { REFUSAL_MS, SimServer } from './sim-server.js';
import { serverSpec } from './test-fixtures.js';

const MIN = 60_000;

/** A server whose clock the test sets. */
function serverAt(s: ServerSpec): { server: SimServer; at(ms: number): SimServer } {
  let now = 0;
  const server = new SimServer(s, () => now);
  return {
    server,
    at: (ms) => {
      now = ms;
      return server;
    },
  };
}

describe('SimServer', () => {
  it('serves from a full bucket, then refuses with the exact Retry-After until a token refills', () => {
    const { at } = serverAt(serverSpec());
    expect(at(0).receive(5_000)).toMatchObject({ answer: { status: 200 }, afterMs: 5_000 });
    expect(at(0).receive(5_000).answer.status).toBe(200);
    const refused = at(0).receive(5_000);
    expect(refused).toMatchObject({ answer: { status: 429, headers: { 'retry-after': '60' } }, afterMs: REFUSAL_MS });
    expect(at(30_000).receive(5_000).answer.headers['retry-after']).toBe('30');
    expect(at(60_000).receive(5_000).answer.status).toBe(200);
    // A refusal takes no token: the bucket refilled one in the minute whatever was refused.
    expect(at(60_000).receive(5_000).answer.status).toBe(429);
  });

  it('sends no Retry-After with "none", a fixed one with {fixedMs}', () => {
    const none = serverAt(serverSpec({ retryAfter: 'none', bucket: { capacity: 1, refill: 1, periodMs: MIN } }));
    none.at(0).receive(1);
    expect(none.at(0).receive(1).answer.headers['retry-after']).toBeUndefined();
    const fixed = serverAt(serverSpec({ retryAfter: { fixedMs: 20_000 }, bucket: { capacity: 1, refill: 1, periodMs: MIN } }));
    fixed.at(0).receive(1);
    expect(fixed.at(0).receive(1).answer.headers['retry-after']).toBe('20');
  });

  it('refuses with a usage-cap body naming the reset time when capBody is set', () => {
    const { at } = serverAt(serverSpec({ capBody: true, retryAfter: 'none', bucket: { capacity: 1, refill: 1, periodMs: MIN } }));
    at(0).receive(1);
    const { answer } = at(15_000).receive(1);
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBeUndefined();
    const body = JSON.parse(answer.body) as { error: { type: string; limit: number; resets_at: string } };
    expect(body.error.type).toBe('usage_limit_reached');
    expect(body.error.limit).toBe(1);
    expect(Date.parse(body.error.resets_at)).toBe(SIM_EPOCH_MS + 60_000);
  });

  it('flags the account at max429InWindow refusals within the window; then every answer is 403', () => {
    const { server, at } = serverAt(serverSpec({ bucket: { capacity: 1, refill: 1, periodMs: MIN } }));
    at(0).receive(1);
    at(1_000).receive(1);
    at(2_000).receive(1);
    expect(server.flaggedAt).toBeNull();
    expect(at(3_000).receive(1).answer.status).toBe(429);
    expect(server.flaggedAt).toBe(3_000);
    expect(server.refusals).toBe(3);
    // Tokens are back an hour later, but the account stays flagged.
    expect(at(2 * 60 * MIN).receive(1).answer.status).toBe(403);
  });

  it('forgets refusals that left the window', () => {
    const { server, at } = serverAt(serverSpec({ bucket: { capacity: 1, refill: 1, periodMs: MIN }, flag: { max429InWindow: 2, windowMs: 10 * MIN, maxRequestsPer60s: 100 } }));
    at(0).receive(1);
    expect(at(1_000).receive(1).answer.status).toBe(429);
    expect(at(10 * MIN + 1_000).receive(1).answer.status).toBe(200);
    expect(at(10 * MIN + 2_000).receive(1).answer.status).toBe(429);
    expect(server.refusals).toBe(2);
    expect(server.flaggedAt).toBeNull();
    at(10 * MIN + 3_000).receive(1);
    expect(server.flaggedAt).toBe(10 * MIN + 3_000);
  });

  it('flags the account when more than maxRequestsPer60s requests arrive within 60 s', () => {
    const { server, at } = serverAt(serverSpec({ bucket: { capacity: 100, refill: 1, periodMs: MIN }, flag: { max429InWindow: 3, windowMs: MIN, maxRequestsPer60s: 3 } }));
    for (const t of [0, 10_000, 20_000]) expect(at(t).receive(1).answer.status).toBe(200);
    expect(at(60_000).receive(1).answer.status).toBe(200); // the first left the window
    expect(server.flaggedAt).toBeNull();
    expect(at(60_001).receive(1).answer.status).toBe(403);
    expect(server.flaggedAt).toBe(60_001);
  });

  it('answers an outage with its status, taking no token and counting no refusal', () => {
    const { server, at } = serverAt(serverSpec({ bucket: { capacity: 1, refill: 1, periodMs: MIN }, outages: [{ fromMs: 1_000, toMs: 5_000, status: 503 }] }));
    expect(at(1_000).receive(1).answer.status).toBe(503);
    expect(at(4_999).receive(1).answer.status).toBe(503);
    expect(at(5_000).receive(1).answer.status).toBe(200);
    expect(server.refusals).toBe(0);
    expect(server.received.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('applies a quota change at its time, cutting the tokens to the new capacity', () => {
    const { at } = serverAt(serverSpec({ bucket: { capacity: 5, refill: 5, periodMs: MIN }, quotaChanges: [{ atMs: 10 * MIN, capacity: 1, refill: 1, periodMs: 2 * MIN }] }));
    expect(at(10 * MIN).receive(1).answer.status).toBe(200);
    const refused = at(10 * MIN).receive(1);
    expect(refused.answer.status).toBe(429);
    expect(refused.answer.headers['retry-after']).toBe('120');
  });
});
