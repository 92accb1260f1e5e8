import type { PolicyConfig } from '../../../shared/policy-config.js';
import type { PersistedAccount } from '../../../shared/policy-state.js';

export type CircuitConfig = PolicyConfig['circuitBreaker'];

/** The circuit-breaker part of an account's state. */
export type CircuitFields = Pick<PersistedAccount, 'circuitState' | 'consecutiveFailures' | 'trips' | 'circuitRetryAt'>;

/**
 * What the circuit says to one caller:
 * - `pass`: closed;
 * - `open`: still open for `retryAfterMs`;
 * - `probe`: open and due (or half-open with no probe): this caller becomes the single probe;
 * - `busy`: half-open and the probe is taken.
 */
export type CircuitGate = { kind: 'pass' } | { kind: 'open'; retryAfterMs: number } | { kind: 'probe' } | { kind: 'busy' };

const PASS: CircuitGate = { kind: 'pass' };
const PROBE: CircuitGate = { kind: 'probe' };
const BUSY: CircuitGate = { kind: 'busy' };

/** Decides whether a caller may pass the circuit at `now`; pure (the caller turns it half-open on `probe`). */
export function gateCircuit(c: CircuitFields, now: number, probeTaken: boolean): CircuitGate {
  if (c.circuitState === 'closed') return PASS;
  if (c.circuitState === 'open') {
    const retryAt = c.circuitRetryAt ?? now;
    if (now < retryAt) return { kind: 'open', retryAfterMs: retryAt - now };
  }
  return probeTaken ? BUSY : PROBE;
}

/** A success closes the circuit and forgets the failure streak. */
export function recordCircuitSuccess(c: CircuitFields): void {
  c.circuitState = 'closed';
  c.consecutiveFailures = 0;
  c.trips = 0;
  c.circuitRetryAt = null;
}

/**
 * Counts a failure; trips the circuit at the threshold (unless already open) or when the failure is
 * the half-open probe. Open time grows with each trip in a row (openMs × trips, capped at maxOpenMs);
 * a longer (already clamped) Retry-After keeps it open that long. Returns whether it tripped.
 */
export function recordCircuitFailure(c: CircuitFields, cfg: CircuitConfig, now: number, probe: boolean, retryAfterMs: number): boolean {
  c.consecutiveFailures += 1;
  const trip = probe || (c.circuitState !== 'open' && c.consecutiveFailures >= cfg.failureThreshold);
  if (!trip) return false;
  c.trips += 1;
  const openFor = Math.max(Math.min(cfg.openMs * c.trips, cfg.maxOpenMs), retryAfterMs);
  c.circuitState = 'open';
  c.circuitRetryAt = now + openFor;
  return true;
}
