import type { PolicyClock } from '../policy/types.js';

/**
 * The engine's clock: wall time read once at start and then advanced by the monotonic clock, so a
 * wall-clock jump while the add-on runs (NTP stepping the time, the user changing it) neither
 * reopens a circuit, empties a rate window nor reclaims a lease early. Persisted deadlines stay
 * epoch ms: after a restart they are read against the wall clock again and keep their remaining time.
 */
export function steadyClock(base: PolicyClock): PolicyClock {
  const anchorWall = base.now();
  const anchorMono = base.monotonic();
  return {
    // Floored: persisted times are whole epoch ms, and performance.now() has fractions.
    now: () => anchorWall + Math.floor(base.monotonic() - anchorMono),
    monotonic: () => base.monotonic(),
    setTimeout: (fn, ms) => base.setTimeout(fn, ms),
    clearTimeout: (handle) => base.clearTimeout(handle),
    random: () => base.random(),
  };
}
