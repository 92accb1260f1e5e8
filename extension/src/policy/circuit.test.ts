import { describe, expect, it } from 'vitest';
import { gateCircuit, recordCircuitFailure, recordCircuitSuccess, type CircuitFields } from './circuit.js';

const cfg = { failureThreshold: 3, openMs: 60_000, maxOpenMs: 150_000 };
const closed = (): CircuitFields => ({ circuitState: 'closed', consecutiveFailures: 0, trips: 0, circuitRetryAt: null });

describe('gateCircuit', () => {
  it('passes when closed, rejects with the remaining time when open, offers the probe when due', () => {
    expect(gateCircuit(closed(), 0, false)).toEqual({ kind: 'pass' });
    const open: CircuitFields = { ...closed(), circuitState: 'open', circuitRetryAt: 10_000 };
    expect(gateCircuit(open, 4_000, false)).toEqual({ kind: 'open', retryAfterMs: 6_000 });
    expect(gateCircuit(open, 10_000, false)).toEqual({ kind: 'probe' });
    expect(gateCircuit(open, 10_000, true)).toEqual({ kind: 'busy' });
    const half: CircuitFields = { ...open, circuitState: 'half_open' };
    expect(gateCircuit(half, 0, false)).toEqual({ kind: 'probe' });
    expect(gateCircuit(half, 0, true)).toEqual({ kind: 'busy' });
    // gating is pure: the caller turns it half-open
    expect(open.circuitState).toBe('open');
  });
});

describe('recordCircuitFailure', () => {
  it('trips at the threshold for openMs', () => {
    const c = closed();
    expect(recordCircuitFailure(c, cfg, 0, false, 0)).toBe(false);
    expect(recordCircuitFailure(c, cfg, 0, false, 0)).toBe(false);
    expect(recordCircuitFailure(c, cfg, 1000, false, 0)).toBe(true);
    expect(c).toEqual({ circuitState: 'open', consecutiveFailures: 3, trips: 1, circuitRetryAt: 61_000 });
  });

  it('grows the open time with each re-trip (openMs × trips) up to maxOpenMs', () => {
    const c: CircuitFields = { circuitState: 'half_open', consecutiveFailures: 3, trips: 1, circuitRetryAt: 0 };
    recordCircuitFailure(c, cfg, 0, true, 0);
    expect(c.circuitRetryAt).toBe(120_000);
    c.circuitState = 'half_open';
    recordCircuitFailure(c, cfg, 0, true, 0);
    expect(c.trips).toBe(3);
    expect(c.circuitRetryAt).toBe(150_000);
  });

  it('trips on a failed probe below the threshold', () => {
    const c: CircuitFields = { circuitState: 'half_open', consecutiveFailures: 0, trips: 0, circuitRetryAt: 0 };
    expect(recordCircuitFailure(c, cfg, 5, true, 0)).toBe(true);
    expect(c.circuitRetryAt).toBe(60_005);
  });

  it('stays open as long as a longer Retry-After asks', () => {
    const c: CircuitFields = { ...closed(), consecutiveFailures: 2 };
    recordCircuitFailure(c, cfg, 0, false, 600_000);
    expect(c.circuitRetryAt).toBe(600_000);
  });

  it('does not re-trip a circuit that is already open (a late failure of an older lease)', () => {
    const c: CircuitFields = { circuitState: 'open', consecutiveFailures: 3, trips: 1, circuitRetryAt: 60_000 };
    expect(recordCircuitFailure(c, cfg, 1, false, 0)).toBe(false);
    expect(c).toEqual({ circuitState: 'open', consecutiveFailures: 4, trips: 1, circuitRetryAt: 60_000 });
  });
});

describe('recordCircuitSuccess', () => {
  it('closes the circuit and forgets the streak and trips', () => {
    const c: CircuitFields = { circuitState: 'half_open', consecutiveFailures: 7, trips: 2, circuitRetryAt: 5 };
    recordCircuitSuccess(c);
    expect(c).toEqual(closed());
  });
});
