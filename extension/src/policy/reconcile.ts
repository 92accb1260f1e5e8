import type { CircuitState, PersistedPlatform, PersistedSystem, PersistedTarget } from '../../../shared/policy-state.js';

const STRICTNESS: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** The later of two optional epoch times. */
export function laterOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return a >= b ? a : b;
}

/**
 * Merges two copies of one target's state, the stricter value winning: the stricter circuit with the
 * later retry time, later deadlines, more failures and trips, the newer of each "last …" record,
 * and the union of in-flight leases.
 */
export function mergeTarget(a: PersistedTarget, b: PersistedTarget): PersistedTarget {
  const circuitState = STRICTNESS[a.circuitState] >= STRICTNESS[b.circuitState] ? a.circuitState : b.circuitState;
  const activity = (b.lastActivityAt ?? -1) > (a.lastActivityAt ?? -1) ? b : a;
  const sweep = (b.lastStaleSweepAt ?? -1) > (a.lastStaleSweepAt ?? -1) ? b : a;
  const error = (b.lastError?.at ?? -1) > (a.lastError?.at ?? -1) ? b : a;
  const inFlight = [...a.inFlight];
  for (const lease of b.inFlight) if (!inFlight.some((l) => l.requestId === lease.requestId)) inFlight.push(lease);
  return {
    version: a.version,
    clientId: a.clientId,
    platform: a.platform,
    circuitState,
    consecutiveFailures: Math.max(a.consecutiveFailures, b.consecutiveFailures),
    trips: Math.max(a.trips, b.trips),
    circuitRetryAt: circuitState === 'closed' ? null : laterOf(a.circuitRetryAt, b.circuitRetryAt),
    backoffUntil: laterOf(a.backoffUntil, b.backoffUntil),
    lastBackoffMs: Math.max(a.lastBackoffMs, b.lastBackoffMs),
    lastError: error.lastError,
    lastSuccessAt: laterOf(a.lastSuccessAt, b.lastSuccessAt),
    lastFailureAt: laterOf(a.lastFailureAt, b.lastFailureAt),
    lastActivityAt: activity.lastActivityAt,
    lastActivityReason: activity.lastActivityReason,
    lastStaleSweepAt: sweep.lastStaleSweepAt,
    lastStaleSweepIdleMs: sweep.lastStaleSweepIdleMs,
    lastStaleSweepReason: sweep.lastStaleSweepReason,
    lastStaleSweepRequestId: sweep.lastStaleSweepRequestId,
    staleSweepCount: Math.max(a.staleSweepCount, b.staleSweepCount),
    inFlight: inFlight.slice(0, 64),
    updatedAt: Math.max(a.updatedAt, b.updatedAt),
  };
}

/**
 * Merges two copies of one platform's window: the union of their dispatches as multisets (the same
 * dispatch seen by both copies counts once; two dispatches in the same ms both count).
 */
export function mergePlatform(a: PersistedPlatform, b: PersistedPlatform): PersistedPlatform {
  const dispatches: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.dispatches.length || j < b.dispatches.length) {
    const x = a.dispatches[i];
    const y = b.dispatches[j];
    if (y === undefined || (x !== undefined && x < y)) {
      dispatches.push(x as number);
      i++;
    } else if (x === undefined || y < x) {
      dispatches.push(y);
      j++;
    } else {
      dispatches.push(x);
      i++;
      j++;
    }
  }
  return {
    version: a.version,
    platform: a.platform,
    dispatches: dispatches.slice(-10_000),
    lastDispatchAt: laterOf(a.lastDispatchAt, b.lastDispatchAt),
    updatedAt: Math.max(a.updatedAt, b.updatedAt),
  };
}

/** Merges the system switches: paused wins (with its own reason and time); both paused, the newer says why. */
export function mergeSystem(a: PersistedSystem | null, b: PersistedSystem | null): PersistedSystem | null {
  if (a === null) return b;
  if (b === null) return a;
  const winner = a.paused !== b.paused ? (a.paused ? a : b) : b.updatedAt > a.updatedAt ? b : a;
  return { ...winner, updatedAt: Math.max(a.updatedAt, b.updatedAt) };
}
