import { describe, expect, it } from 'vitest';
import { ADMISSION, fakeBrowserStatus } from '../test/api/fakes.js';
import { formatCircuitTable, formatJournalTable, formatWait } from './format.js';

const NOW = 1_700_000_000_000;

function statusWithOpenCircuit() {
  const status = fakeBrowserStatus(NOW);
  status.accounts.push({
    ...status.accounts[0]!,
    container: 'firefox-container-2',
    circuitState: 'open',
    consecutiveFailures: 3,
    trips: 1,
    circuitRetryAt: NOW + 299_500,
    lastError: { code: 'upstream_429', message: 'rate limited', at: NOW - 5_000 },
    pace: { intervalMs: 64_000, pinned: false, lastCutAt: NOW - 12 * 60_000, lastCutReason: 'upstream_429' },
    clients: ['agent-2'],
  });
  status.targets.push({ ...status.targets[0]!, clientId: 'agent-2', lastError: { code: 'upstream_429', message: 'rate limited', at: NOW - 5_000 }, staleSweepCount: 2, lastStaleSweepAt: NOW - 61_000 });
  return status;
}

describe('formatWait', () => {
  it('reads like a countdown', () => {
    expect([formatWait(0), formatWait(1), formatWait(42_000), formatWait(299_500), formatWait(3_723_000)]).toEqual(['0 s', '1 s', '42 s', '5:00', '1:02:03']);
  });
});

describe('formatCircuitTable', () => {
  it('shows the host, dispatch state, tabs, one row per account with its countdown and pace, and one row per target', () => {
    const text = formatCircuitTable(statusWithOpenCircuit(), { now: NOW });
    const lines = text.split('\n');
    expect(lines[0]).toBe('host: connected (v0.1.0, schema 1) · API on 127.0.0.1:7311');
    expect(lines[1]).toBe('dispatch: running');
    expect(lines[2]).toBe('mock: 1 tab in firefox-default');
    const open = lines.findIndex((l) => l.includes('firefox-container-2'));
    expect(lines[open]).toMatch(/^mock\s+firefox-container-2\s+open\s+3\s+0\/0\s+5:00\s+now\s+upstream_429 \(5 s ago\)$/);
    expect(lines[open + 1]).toBe('  pace 1 per 64 s, learned from a 429 12 min ago · 1/6 in 1:00 · clients: agent-2');
    expect(lines.find((l) => l.startsWith('mock ') && l.includes('firefox-default'))).toMatch(/^mock\s+firefox-default\s+closed\s+0\s+0\/0\s+-\s+now\s+-$/);
    expect(lines.find((l) => l.includes('agent-2') && !l.includes('clients'))).toMatch(/^mock\s+agent-2\s+0\/0\s+0\s+2 \(last 1:01 ago\)\s+upstream_429 \(5 s ago\)$/);
    expect(text).not.toContain('\x1b[');
  });

  it('aligns columns and colours the circuit state only when asked', () => {
    const plain = formatCircuitTable(statusWithOpenCircuit(), { now: NOW }).split('\n').filter((l) => (l.startsWith('mock ') && l.includes('firefox-')) || l.startsWith('PLATFORM  CONTAINER'));
    expect(plain).toHaveLength(3);
    expect(new Set(plain.map((l) => l.indexOf(l.includes('PLATFORM') ? 'CIRCUIT' : l.includes('open') ? 'open' : 'closed'))).size).toBe(1);
    const coloured = formatCircuitTable(statusWithOpenCircuit(), { now: NOW, color: true });
    expect(coloured).toContain('\x1b[31mopen');
    expect(coloured).toContain('\x1b[32mclosed');
  });

  it('says when dispatch is paused and when the host is not connected', () => {
    const status = fakeBrowserStatus(NOW);
    status.paused = { paused: true, reason: 'lunch', since: NOW - 90_000 };
    status.host = { ...status.host, connected: false, reason: 'No such native application conductor_fx' };
    status.accounts = [];
    const text = formatCircuitTable(status, { now: NOW });
    expect(text).toContain('host: not connected (No such native application conductor_fx)');
    expect(text).toContain('dispatch: PAUSED (lunch) for 1:30');
    expect(text).toContain('no accounts yet');
  });
});

describe('formatJournalTable', () => {
  it('lists entries in the given order with status and error', () => {
    const base = { clientId: 'a', platform: 'mock', method: 'GET' as const, path: '/x', admittedAt: null, finishedAt: null, admission: null };
    const text = formatJournalTable([
      { ...base, requestId: 'r-2', outcome: 'failure', createdAt: NOW, httpStatus: 500, errorCode: 'upstream_5xx' },
      { ...base, requestId: 'r-1', outcome: 'success', createdAt: NOW - 1_000, httpStatus: 200, errorCode: null, admission: ADMISSION },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^CREATED\s+REQUEST ID/);
    expect(lines[1]).toMatch(/^2023-11-14T22:13:20.000Z\s+r-2\s+mock\s+a\s+GET\s+\/x\s+failure\s+500\s+upstream_5xx$/);
    expect(lines[2]).toMatch(/r-1 .* success\s+200\s+-$/);
    expect(formatJournalTable([])).toBe('the journal is empty');
  });
});
