import type { ApiConversation } from '../shared/conversations.js';
import type { ApiJob } from '../shared/jobs.js';
import type { JournalEntry } from '../shared/journal.js';
import type { CircuitState } from '../shared/policy-state.js';
import { describePace, type AccountSnapshot, type BrowserStatus, type TargetSnapshot } from '../shared/status.js';

/** How the circuit table is drawn. */
export interface CircuitTableOptions {
  /** ANSI colours (the CLI turns them on for a TTY). */
  color?: boolean;
  /** The clock countdowns are measured against; defaults to the status's generatedAt. */
  now?: number;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', bold: '\x1b[1m', dim: '\x1b[2m', reset: '\x1b[0m' } as const;
const CIRCUIT_COLOR: Record<CircuitState, keyof typeof ANSI> = { closed: 'green', half_open: 'yellow', open: 'red' };

/** A wait as a person reads a countdown: 42 s, 4:59, 1:02:03. */
export function formatWait(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The countdown of a deadline, or '-' when it is absent or passed. */
function until(at: number | null, now: number): string {
  return at === null || at <= now ? '-' : formatWait(at - now);
}

/** Left-aligned columns; `paint` colours a cell after padding so escape codes do not skew widths. */
function table(rows: string[][], paint: (row: number, col: number, text: string) => string): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r, row) => r.map((cell, col) => paint(row, col, col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd());
}

function accountRow(a: AccountSnapshot, now: number): string[] {
  const retry = a.circuitState === 'closed' ? until(a.backoffUntil, now) : until(a.circuitRetryAt, now);
  const lastError = a.lastError === null ? '-' : `${a.lastError.code} (${formatWait(Math.max(0, now - a.lastError.at))} ago)`;
  const next = a.nextSlotAt === null || a.nextSlotAt <= now ? 'now' : formatWait(a.nextSlotAt - now);
  return [a.platform, a.container, a.circuitState.replace('_', '-'), String(a.consecutiveFailures), `${a.inFlight}/${a.waiting}`, retry, next, lastError];
}

function targetRow(t: TargetSnapshot, now: number): string[] {
  const lastError = t.lastError === null ? '-' : `${t.lastError.code} (${formatWait(Math.max(0, now - t.lastError.at))} ago)`;
  const sweeps = t.staleSweepCount === 0 ? '-' : `${t.staleSweepCount}${t.lastStaleSweepAt === null ? '' : ` (last ${formatWait(Math.max(0, now - t.lastStaleSweepAt))} ago)`}`;
  return [t.platform, t.clientId, `${t.inFlight}/${t.waiting}`, String(t.interrupted), sweeps, lastError];
}

/**
 * The browser status as a terminal table: host link, pause state, one row per account (platform
 * and container) with its circuit, failures, in-flight/waiting leases, the countdown to its retry
 * (circuit or hold), its next slot, last error and, below it, its learned pace and clients; then
 * one row per target with its leases, interrupted leases, stale sweeps and last error.
 */
export function formatCircuitTable(status: BrowserStatus, opts: CircuitTableOptions = {}): string {
  const now = opts.now ?? status.generatedAt;
  const c = (color: keyof typeof ANSI, text: string) => (opts.color === true ? `${ANSI[color]}${text}${ANSI.reset}` : text);
  const { host } = status;
  const api = host.api === null ? '' : host.api.listening ? ` · API on 127.0.0.1:${host.api.port}` : ` · API not listening: ${host.api.error ?? 'unknown reason'}`;
  const lines = [
    host.connected
      ? `host: ${c('green', 'connected')} (v${host.hostVersion ?? '?'}, schema ${host.schemaVersion ?? '?'})${api}`
      : `host: ${c('red', 'not connected')}${host.reason === null ? '' : ` (${host.reason})`}`,
    status.paused.paused
      ? `dispatch: ${c('red', 'PAUSED')}${status.paused.reason === null ? '' : ` (${status.paused.reason})`}${status.paused.since === null ? '' : ` for ${formatWait(now - status.paused.since)}`}`
      : `dispatch: ${c('green', 'running')}`,
  ];
  for (const t of status.tabs) lines.push(`${t.platform}: ${t.tabs} tab${t.tabs === 1 ? '' : 's'} in ${t.containers.join(', ') || 'no container'}`);
  lines.push('');
  if (status.accounts.length === 0) {
    lines.push(c('dim', 'no accounts yet: no client has sent a request'));
    return lines.join('\n');
  }
  const accounts = [...status.accounts].sort((a, b) => a.platform.localeCompare(b.platform) || a.container.localeCompare(b.container));
  const rows = [['PLATFORM', 'CONTAINER', 'CIRCUIT', 'FAILS', 'RUN/WAIT', 'RETRY IN', 'NEXT SLOT', 'LAST ERROR'], ...accounts.map((a) => accountRow(a, now))];
  const drawn = table(rows, (row, col, text) => {
    if (row === 0) return c('bold', text);
    return col === 2 ? c(CIRCUIT_COLOR[accounts[row - 1]!.circuitState], text) : text;
  });
  lines.push(drawn[0]!);
  accounts.forEach((a, i) => {
    lines.push(drawn[i + 1]!, c('dim', `  ${describePace(a.pace, now)} · ${a.recentDispatchCount}/${a.limit} in ${formatWait(a.windowMs)} · clients: ${a.clients.join(', ') || '-'}`));
  });
  const targets = [...status.targets].sort((a, b) => a.platform.localeCompare(b.platform) || a.clientId.localeCompare(b.clientId));
  if (targets.length > 0) {
    lines.push('');
    const header = ['PLATFORM', 'CLIENT', 'RUN/WAIT', 'INTERRUPTED', 'STALE SWEEPS', 'LAST ERROR'];
    lines.push(...table([header, ...targets.map((t) => targetRow(t, now))], (row, _col, text) => (row === 0 ? c('bold', text) : text)));
  }
  return lines.join('\n');
}

/** The request journal as a terminal table, in the order given (newest first from the API). */
export function formatJournalTable(entries: readonly JournalEntry[]): string {
  if (entries.length === 0) return 'the journal is empty';
  const rows = [
    ['CREATED', 'REQUEST ID', 'PLATFORM', 'CLIENT', 'METHOD', 'PATH', 'OUTCOME', 'STATUS', 'ERROR'],
    ...entries.map((e) => [new Date(e.createdAt).toISOString(), e.requestId, e.platform, e.clientId, e.method, e.path, e.outcome, e.httpStatus === null ? '-' : String(e.httpStatus), e.errorCode ?? '-']),
  ];
  return table(rows, (_row, _col, text) => text).join('\n');
}

/** Jobs as a terminal table: status, attempts, when the next is due, the last error. */
export function formatJobTable(jobs: readonly ApiJob[], now: number): string {
  if (jobs.length === 0) return 'no jobs';
  const rows = [
    ['JOB', 'STATUS', 'PLATFORM', 'CLIENT', 'METHOD', 'PATH', 'ATTEMPTS', 'NEXT IN', 'LAST ERROR'],
    ...jobs.map((j) => [j.job_id, j.status, j.platform, j.client_id, j.method, j.path, `${j.attempt_count}/${j.max_attempts}`, until(j.next_attempt_at, now), j.last_error?.code ?? '-']),
  ];
  return table(rows, (_row, _col, text) => text).join('\n');
}

/** Conversations under automation as a terminal table, with the lock and why a paused one is paused. */
export function formatConversationTable(conversations: readonly ApiConversation[]): string {
  if (conversations.length === 0) return 'no conversations under automation';
  const rows = [
    ['CONVERSATION', 'PLATFORM', 'CLIENT', 'STATUS', 'LOCK', 'FAILS', 'PAUSE REASON'],
    ...conversations.map((c) => [c.conversation_id, c.platform, c.client_id, c.automation_status, c.execution_state, String(c.consecutive_failure_count), c.pause_reason ?? '-']),
  ];
  return table(rows, (_row, _col, text) => text).join('\n');
}
