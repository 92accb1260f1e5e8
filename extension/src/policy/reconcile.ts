import { MAX_CLIENTS, type CircuitState, type PaceState, type PersistedAccount, type PersistedSystem, type PersistedTarget } from '../../../shared/policy-state.js';

const STRICTNESS: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** The later of two optional epoch times. */
export function laterOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return a >= b ? a : b;
}

/**
 * Merges two copies of one target's state: the newer of each "last …" record and the union of
 * in-flight leases.
 */
export function mergeTarget(a: PersistedTarget, b: PersistedTarget): PersistedTarget {
  const activity = (b.lastActivityAt ?? -1) > (a.lastActivityAt ?? -1) ? b : a;
  const sweep = (b.lastStaleSweepAt ?? -1) > (a.lastStaleSweepAt ?? -1) ? b : a;
  const error = (b.lastError?.at ?? -1) > (a.lastError?.at ?? -1) ? b : a;
  const inFlight = [...a.inFlight];
  for (const lease of b.inFlight) if (!inFlight.some((l) => l.requestId === lease.requestId)) inFlight.push(lease);
  return {
    version: a.version,
    clientId: a.clientId,
    platform: a.platform,
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

/** The union of two ascending dispatch lists as multisets (the same dispatch seen by both counts once; two in the same ms both count). */
function mergeDispatches(a: readonly number[], b: readonly number[]): number[] {
  const dispatches: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
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
  return dispatches.slice(-10_000);
}

/** The stricter of two learned paces: the slower gap (a learned one beats none), on a tie the later cut. */
function stricterPace(a: PaceState, b: PaceState): PaceState {
  const ga = a.intervalMs ?? 0;
  const gb = b.intervalMs ?? 0;
  if (ga !== gb) return ga > gb ? a : b;
  return (b.lastCutAt ?? -1) > (a.lastCutAt ?? -1) ? b : a;
}

/**
 * Merges two copies of one account's state, the stricter value winning: the union of the window's
 * dispatches, the stricter circuit with the later retry time, later holds, more failures and
 * trips, the newer last error, the slower learned pace, the union of its clients.
 */
export function mergeAccount(a: PersistedAccount, b: PersistedAccount): PersistedAccount {
  const circuitState = STRICTNESS[a.circuitState] >= STRICTNESS[b.circuitState] ? a.circuitState : b.circuitState;
  const error = (b.lastError?.at ?? -1) > (a.lastError?.at ?? -1) ? b : a;
  return {
    version: a.version,
    platform: a.platform,
    container: a.container,
    dispatches: mergeDispatches(a.dispatches, b.dispatches),
    lastDispatchAt: laterOf(a.lastDispatchAt, b.lastDispatchAt),
    circuitState,
    consecutiveFailures: Math.max(a.consecutiveFailures, b.consecutiveFailures),
    trips: Math.max(a.trips, b.trips),
    circuitRetryAt: circuitState === 'closed' ? null : laterOf(a.circuitRetryAt, b.circuitRetryAt),
    backoffUntil: laterOf(a.backoffUntil, b.backoffUntil),
    lastBackoffMs: Math.max(a.lastBackoffMs, b.lastBackoffMs),
    lastError: error.lastError,
    pace: { ...stricterPace(a.pace, b.pace) },
    clients: [...new Set([...a.clients, ...b.clients])].slice(-MAX_CLIENTS),
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
