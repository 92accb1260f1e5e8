// Pure text formatting for the popup: durations, relative times and the words for states.
import type { CircuitState } from '../../../shared/policy-state.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration as a person reads it: "12s", "4m 12s", "1h 3m", "2d 5h" (rounded up to the second, so a live countdown never shows 0s early). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / SECOND)) * SECOND;
  if (total < MINUTE) return `${total / SECOND}s`;
  if (total < HOUR) return `${Math.floor(total / MINUTE)}m ${Math.floor((total % MINUTE) / SECOND)}s`;
  if (total < DAY) return `${Math.floor(total / HOUR)}h ${Math.floor((total % HOUR) / MINUTE)}m`;
  return `${Math.floor(total / DAY)}d ${Math.floor((total % DAY) / HOUR)}h`;
}

/** How long ago `at` was: "just now", "12s ago", "4m 12s ago"; a time in the future reads "in 12s". */
export function formatAgo(at: number, now: number): string {
  const delta = now - at;
  if (delta < 0) return `in ${formatDuration(-delta)}`;
  if (delta < SECOND) return 'just now';
  return `${formatDuration(Math.floor(delta / SECOND) * SECOND)} ago`;
}

/** The countdown to a deadline with its label ("retry in 4m 12s"), or `due` once it has passed. */
export function formatCountdown(label: string, deadline: number, now: number, due: string): string {
  return deadline > now ? `${label} ${formatDuration(deadline - now)}` : due;
}

/** The words the badge shows for a circuit state. */
export function circuitWords(state: CircuitState): 'closed' | 'half-open' | 'open' {
  return state === 'half_open' ? 'half-open' : state;
}

/** Firefox's words when the host manifest is not where it looks. */
const HOST_NOT_REGISTERED = /no such native application/i;

/** A fix to show under the host's disconnect reason, when the reason is one a user can fix. */
export function hostReasonHint(reason: string | null): string | null {
  if (reason !== null && HOST_NOT_REGISTERED.test(reason)) return 'host not registered: run npm run install-host';
  return null;
}

/** What a user should do about a target's last error, when it is something they can do. */
export function errorAdvice(code: string, platform: string): string | null {
  return code === 'auth_required' ? `log in to ${platform}` : null;
}

/** "1 request", "3 requests". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
