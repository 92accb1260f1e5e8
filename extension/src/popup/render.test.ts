// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../../shared/policy-config.js';
import { freshFields } from '../../../shared/policy-state.js';
import { BrowserStatusSchema, type BrowserStatus, type TargetSnapshot } from '../../../shared/status.js';
import { renderPopup, updateTimes, type PopupHandlers, type PopupView } from './render.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

function target(overrides: Partial<TargetSnapshot> = {}): TargetSnapshot {
  // The engine's own starting state, so this fixture follows the schema as it grows.
  const { lastBackoffMs: _lastBackoffMs, ...fields } = freshFields();
  return { clientId: 'agent-1', platform: 'claude', ...fields, inFlight: 0, waiting: 0, interrupted: 0, lastSuccessAt: NOW - 60_000, ...overrides };
}

/** A snapshot fixture, validated by the same schema the background's messages are. */
function status(overrides: Partial<BrowserStatus> = {}): BrowserStatus {
  return BrowserStatusSchema.parse({
    generatedAt: NOW,
    paused: { paused: false, reason: null, since: null },
    defaults: DEFAULT_POLICY_CONFIG,
    platforms: [
      { platform: 'claude', recentDispatchCount: 4, limit: 6, windowMs: 60_000, nextSlotAt: NOW + 42_000 },
      { platform: 'chatgpt', recentDispatchCount: 0, limit: 6, windowMs: 60_000, nextSlotAt: null },
    ],
    targets: [target()],
    host: {
      connected: true,
      reason: null,
      hostVersion: '0.1.0',
      schemaVersion: 1,
      dbPath: '/home/u/.local/share/conductor-fx/conductor.db',
      lastSavedAt: NOW - 2_000,
      storeError: null,
      lastConnectedAt: NOW - 600_000,
      recovery: { startedAt: NOW - 600_000, durationMs: 12, recoveredExecutionStateCount: 2, requeuedRenewalJobCount: 0, interruptedRequestCount: 1, recoveryNextAttemptAt: null },
      api: { listening: true, port: 7311, error: null },
    },
    tabs: [
      { platform: 'claude', tabs: 2, clients: ['agent-1'] },
      { platform: 'chatgpt', tabs: 0, clients: [] },
    ],
    droppedMessages: 0,
    extensionVersion: '0.1.0',
    policyConfig: { source: null, error: null, appliedAt: null },
    ...overrides,
  });
}

function handlers(): PopupHandlers & { calls: unknown[] } {
  const calls: unknown[] = [];
  return { calls, reset: (t) => calls.push(['reset', t]), pause: () => calls.push(['pause']), resume: () => calls.push(['resume']) };
}

function draw(view: Partial<PopupView> & { status: BrowserStatus | null }, h: PopupHandlers = handlers(), now = NOW): HTMLElement {
  const root = renderPopup(document, { background: 'connected', ...view }, now, h);
  document.body.replaceChildren(root);
  return root;
}

function targetRow(root: HTMLElement, key: string): HTMLElement {
  const row = root.querySelector<HTMLElement>(`[data-target="${key}"]`);
  if (row === null) throw new Error(`no row for ${key}`);
  return row;
}

/** The first line of a target row, as the e2e test reads it (name, badge, countdown together). */
function headText(row: HTMLElement): string {
  return (row.querySelector('.row-head')?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

afterEach(() => {
  document.body.replaceChildren();
});

describe('renderPopup', () => {
  it('warns that policy.json was refused, naming the field, and that the previous policy runs; no warning without an error', () => {
    expect(draw({ status: status() }).querySelector('.policy-error')).toBeNull();
    const error = 'rateLimit.requestsPerMinutePerPlatform: Too small: expected number to be >=1';
    const root = draw({ status: status({ policyConfig: { source: '/home/u/.local/share/conductor-fx/policy.json', error, appliedAt: null } }) });
    const warning = root.querySelector('.policy-error');
    expect(warning?.textContent).toBe(`policy.json: ${error} — using the previous policy`);
    expect(warning?.getAttribute('role')).toBe('alert');
  });

  it('shows every circuit closed with a green badge and no countdown', () => {
    const root = draw({ status: status({ targets: [target(), target({ clientId: 'agent-2' })] }) });
    const badges = [...root.querySelectorAll('.badge')];
    expect(badges.map((b) => b.textContent)).toEqual(['closed', 'closed']);
    expect(badges.every((b) => b.classList.contains('badge--closed'))).toBe(true);
    expect(root.querySelector('.retry')).toBeNull();
    expect(headText(targetRow(root, 'claude/agent-1'))).toBe('claude / agent-1 closed Reset');
  });

  it('shows an open circuit in red with a live countdown on the same line as its client', () => {
    const root = draw({
      status: status({
        targets: [
          target({
            circuitState: 'open',
            consecutiveFailures: 3,
            trips: 1,
            circuitRetryAt: NOW + 252_000,
            backoffUntil: NOW + 9_000,
            lastError: { code: 'upstream_5xx', message: 'HTTP 500', at: NOW - 30_000 },
          }),
        ],
      }),
    });
    const row = targetRow(root, 'claude/agent-1');
    expect(row.querySelector('.badge')?.className).toBe('badge badge--open');
    expect(headText(row)).toBe('claude / agent-1 open retry in 4m 12s Reset');
    expect(row.querySelector('.stats')?.textContent).toBe('3 failures · backoff 9s · 0 in flight · 0 waiting');
    expect(row.querySelector('.last-error')?.textContent).toBe('upstream_5xx: HTTP 500 · 30s ago');

    updateTimes(root, NOW + 2_000);
    expect(row.querySelector('.retry')?.textContent).toBe('retry in 4m 10s');
    expect(row.querySelector('.last-error time')?.textContent).toBe('32s ago');
    updateTimes(root, NOW + 252_000);
    expect(row.querySelector('.retry')?.textContent).toBe('retry due');
  });

  it('shows a half-open circuit in amber with the words "half-open"', () => {
    const root = draw({ status: status({ targets: [target({ circuitState: 'half_open', circuitRetryAt: NOW - 1_000, inFlight: 1 })] }) });
    const row = targetRow(root, 'claude/agent-1');
    expect(row.querySelector('.badge')?.className).toBe('badge badge--half-open');
    expect(headText(row)).toBe('claude / agent-1 half-open retry due Reset');
    expect(row.querySelector('.stats')?.textContent).toContain('1 in flight');
  });

  it('tells the user to log in when the platform answered 401/403', () => {
    const root = draw({ status: status({ targets: [target({ lastError: { code: 'auth_required', message: 'HTTP 401', at: NOW - 5_000 } })] }) });
    expect(targetRow(root, 'claude/agent-1').querySelector('.advice')?.textContent).toBe('log in to claude');
  });

  it('shows stale sweeps and interrupted leases', () => {
    const root = draw({ status: status({ targets: [target({ staleSweepCount: 2, lastStaleSweepAt: NOW - 120_000, interrupted: 1 })] }) });
    const row = targetRow(root, 'claude/agent-1');
    expect(row.querySelector('.sweeps')?.textContent).toBe('2 stale sweeps, last 2m 0s ago');
    expect(row.querySelector('.stats')?.textContent).toContain('1 interrupted');
  });

  it('shows window usage per platform with the time to the next slot and the tab count', () => {
    const root = draw({ status: status() });
    const claude = root.querySelector<HTMLElement>('[data-platform="claude"]');
    expect(claude?.querySelector('.count')?.textContent).toBe('4 / 6');
    expect(claude?.querySelector('.slot')?.textContent).toBe('next slot in 42s');
    expect(claude?.querySelector('.tabs')?.textContent).toBe('2 tabs');
    expect(claude?.querySelector<HTMLElement>('.bar-fill')?.style.width).toBe('67%');
    const chatgpt = root.querySelector<HTMLElement>('[data-platform="chatgpt"]');
    expect(chatgpt?.querySelector('.slot')?.textContent).toBe('slot free');
    expect(chatgpt?.querySelector('.tabs')?.textContent).toBe('no tab open');
  });

  it('shows the connected host with its API port, DB, last save and recovery report', () => {
    const text = draw({ status: status() }).querySelector('.host')?.textContent ?? '';
    expect(text).toContain('connected (host v0.1.0)');
    expect(text).toContain('API: listening on 127.0.0.1:7311');
    expect(text).toContain('/home/u/.local/share/conductor-fx/conductor.db');
    expect(text).toContain('2s ago');
    expect(text).toContain('1 interrupted request, 2 states restored, 0 jobs requeued');
  });

  it('says why the host is missing and how to fix it', () => {
    const base = status();
    const root = draw({
      status: { ...base, host: { ...base.host, connected: false, reason: 'No such native application conductor_fx', api: null, recovery: null } },
    });
    const host = root.querySelector('.host');
    expect(host?.querySelector('.host-line')?.textContent).toBe('disconnected: No such native application conductor_fx');
    expect(host?.querySelector('.hint')?.textContent).toBe('host not registered: run npm run install-host');
    expect(root.querySelector('.dot--bad')).not.toBeNull();
  });

  it('shows the API port error when the host could not listen', () => {
    const base = status();
    const root = draw({ status: { ...base, host: { ...base.host, api: { listening: false, port: null, error: 'port 7311 in use' } } } });
    expect(root.querySelector('.host')?.textContent).toContain('API: not listening: port 7311 in use');
  });

  it('says why the host is not saving (a full disk) and that limits still hold; nothing when it saves', () => {
    expect(draw({ status: status() }).querySelector('.host [role="alert"]')).toBeNull();
    const base = status();
    const storeError = { code: 'disk_full' as const, message: 'could not save the policy state: the disk (or the DB size limit) is full', since: NOW - 30_000 };
    const alert = draw({ status: { ...base, host: { ...base.host, storeError } } }).querySelector('.host [role="alert"]');
    expect(alert?.textContent).toContain('Not saved in the host’s DB (disk_full): could not save the policy state: the disk (or the DB size limit) is full.');
    expect(alert?.textContent).toContain('still enforced from the add-on’s own storage');
    expect(alert?.textContent).toContain('30s ago');
  });

  it('shows the paused banner with its reason, and Resume sends resume', () => {
    const h = handlers();
    const root = draw({ status: status({ paused: { paused: true, reason: 'maintenance window', since: NOW - 60_000 } }) }, h);
    const banner = root.querySelector<HTMLElement>('.banner--paused');
    expect(banner?.textContent).toBe('Paused: maintenance window (since 1m 0s ago) Resume');
    banner?.querySelector<HTMLButtonElement>('button')?.click();
    expect(h.calls).toEqual([['resume']]);
  });

  it('offers Pause all when running, and Reset sends the target', () => {
    const h = handlers();
    const root = draw({ status: status() }, h);
    root.querySelector<HTMLButtonElement>('[data-focus-key="pause"]')?.click();
    targetRow(root, 'claude/agent-1').querySelector<HTMLButtonElement>('button')?.click();
    expect(h.calls).toEqual([['pause'], ['reset', { platform: 'claude', clientId: 'agent-1' }]]);
  });

  it('has an empty state before the first status and when no client has sent a request', () => {
    expect(draw({ status: null, background: 'connecting' }).textContent).toContain('Waiting for the add-on background');
    expect(draw({ status: null, background: 'disconnected' }).textContent).toContain('not answering');
    const root = draw({ status: status({ targets: [] }) });
    expect(root.querySelector('.targets .empty')?.textContent).toBe('No requests yet: each client appears here after its first request.');
  });

  it('renders a hostile lastError message and host reason as text, never as HTML', () => {
    const evil = '<img src=x onerror="globalThis.pwned=1"><script>globalThis.pwned=2</script><b>bold</b>';
    const base = status({ targets: [target({ lastError: { code: 'upstream_5xx', message: evil, at: NOW } })] });
    const root = draw({ status: { ...base, host: { ...base.host, connected: false, reason: evil } } });
    expect(root.querySelectorAll('img, script, b')).toHaveLength(0);
    expect(root.querySelector('.last-error .message')?.textContent).toBe(evil);
    expect(root.querySelector('.host-line')?.textContent).toBe(`disconnected: ${evil}`);
    expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
  });

  it('keeps ticking from the last status every second without a new one', () => {
    vi.useFakeTimers({ now: NOW });
    try {
      const root = draw({ status: status({ targets: [target({ circuitState: 'open', circuitRetryAt: NOW + 5_000 })] }) }, handlers(), Date.now());
      const timer = setInterval(() => updateTimes(root, Date.now()), 1_000);
      vi.advanceTimersByTime(3_000);
      expect(root.querySelector('.retry')?.textContent).toBe('retry in 2s');
      clearInterval(timer);
    } finally {
      vi.useRealTimers();
    }
  });
});
