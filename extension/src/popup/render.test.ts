// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../../shared/policy-config.js';
import { freshAccountFields, freshFields } from '../../../shared/policy-state.js';
import { BrowserStatusSchema, type AccountSnapshot, type BrowserStatus, type TargetSnapshot } from '../../../shared/status.js';
import { renderPopup, updateTimes, type PopupHandlers, type PopupView } from './render.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

function target(overrides: Partial<TargetSnapshot> = {}): TargetSnapshot {
  // The engine's own starting state, so this fixture follows the schema as it grows.
  return { clientId: 'agent-1', platform: 'claude', ...freshFields(), inFlight: 0, waiting: 0, interrupted: 0, lastSuccessAt: NOW - 60_000, ...overrides };
}

function account(overrides: Partial<AccountSnapshot> = {}): AccountSnapshot {
  const { lastBackoffMs: _lastBackoffMs, ...fields } = freshAccountFields();
  return {
    platform: 'claude',
    container: 'firefox-default',
    ...fields,
    recentDispatchCount: 4,
    limit: 6,
    windowMs: 60_000,
    nextSlotAt: NOW + 42_000,
    pace: { intervalMs: null, pinned: false, lastCutAt: null, lastCutReason: null },
    inFlight: 0,
    waiting: 0,
    clients: ['agent-1', 'agent-2'],
    ...overrides,
  };
}

/** A snapshot fixture, validated by the same schema the background's messages are. */
function status(overrides: Partial<BrowserStatus> = {}): BrowserStatus {
  return BrowserStatusSchema.parse({
    generatedAt: NOW,
    paused: { paused: false, reason: null, since: null },
    defaults: DEFAULT_POLICY_CONFIG,
    accounts: [account(), account({ platform: 'chatgpt', recentDispatchCount: 0, nextSlotAt: null, clients: [] })],
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
      { platform: 'claude', tabs: 2, containers: ['firefox-container-1', 'firefox-default'] },
      { platform: 'chatgpt', tabs: 0, containers: [] },
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

function accountRow(root: HTMLElement, key = 'claude/firefox-default'): HTMLElement {
  const row = root.querySelector<HTMLElement>(`[data-account="${key}"]`);
  if (row === null) throw new Error(`no account row for ${key}`);
  return row;
}

function targetRow(root: HTMLElement, key: string): HTMLElement {
  const row = root.querySelector<HTMLElement>(`[data-target="${key}"]`);
  if (row === null) throw new Error(`no row for ${key}`);
  return row;
}

/** The first line of a row, as the e2e test reads it (name, badge, countdown together). */
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

  it('shows every account circuit closed with a green badge and no countdown, its targets under it', () => {
    const root = draw({ status: status({ targets: [target(), target({ clientId: 'agent-2' })] }) });
    const badges = [...root.querySelectorAll('.badge')];
    expect(badges.map((b) => b.textContent)).toEqual(['closed', 'closed']);
    expect(badges.every((b) => b.classList.contains('badge--closed'))).toBe(true);
    expect(root.querySelector('.retry')).toBeNull();
    expect(headText(accountRow(root))).toBe('claude · firefox-default closed');
    expect([...accountRow(root).querySelectorAll('[data-target]')].map((r) => r.getAttribute('data-target'))).toEqual(['claude/agent-1', 'claude/agent-2']);
    expect(headText(targetRow(root, 'claude/agent-1'))).toBe('agent-1 · 0 in flight · 0 waiting Reset');
  });

  it('shows an open account circuit in red with a live countdown on the same line as the account', () => {
    const root = draw({
      status: status({
        accounts: [
          account({
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
    const row = accountRow(root);
    expect(row.querySelector('.badge')?.className).toBe('badge badge--open');
    expect(headText(row)).toBe('claude · firefox-default open retry in 4m 12s');
    expect(row.querySelector('.stats')?.textContent).toBe('3 failures · held 9s · 0 in flight · 0 waiting');
    expect(row.querySelector('.last-error')?.textContent).toBe('upstream_5xx: HTTP 500 · 30s ago');

    updateTimes(root, NOW + 2_000);
    expect(row.querySelector('.retry')?.textContent).toBe('retry in 4m 10s');
    expect(row.querySelector('.last-error time')?.textContent).toBe('32s ago');
    updateTimes(root, NOW + 252_000);
    expect(row.querySelector('.retry')?.textContent).toBe('retry due');
  });

  it('shows a half-open circuit in amber with the words "half-open"', () => {
    const root = draw({ status: status({ accounts: [account({ circuitState: 'half_open', circuitRetryAt: NOW - 1_000, inFlight: 1 })] }) });
    const row = accountRow(root);
    expect(row.querySelector('.badge')?.className).toBe('badge badge--half-open');
    expect(headText(row)).toBe('claude · firefox-default half-open retry due');
    expect(row.querySelector('.stats')?.textContent).toContain('1 in flight');
  });

  it('shows the learned pace and why: "pace 1 per 64 s, learned from a 429 12 min ago"', () => {
    const root = draw({ status: status({ accounts: [account({ pace: { intervalMs: 64_000, pinned: false, lastCutAt: NOW - 12 * 60_000, lastCutReason: 'upstream_429' } })] }) });
    expect(accountRow(root).querySelector('.pace')?.textContent).toBe('pace 1 per 64 s, learned from a 429 12 min ago');
    expect(draw({ status: status() }).querySelector('.pace')?.textContent).toBe('pace: the configured window (nothing learned yet)');
  });

  it('tells the user to log in when the platform answered 401/403', () => {
    const root = draw({ status: status({ accounts: [account({ lastError: { code: 'auth_required', message: 'HTTP 401', at: NOW - 5_000 } })] }) });
    expect(accountRow(root).querySelector('.advice')?.textContent).toBe('log in to claude');
  });

  it('shows stale sweeps and interrupted leases', () => {
    const root = draw({ status: status({ targets: [target({ staleSweepCount: 2, lastStaleSweepAt: NOW - 120_000, interrupted: 1 })] }) });
    const row = targetRow(root, 'claude/agent-1');
    expect(row.querySelector('.sweeps')?.textContent).toBe('2 stale sweeps, last 2m 0s ago');
    expect(headText(row)).toContain('1 interrupted');
  });

  it('shows window usage per account with the time to the next slot, and the tabs and containers per platform', () => {
    const root = draw({ status: status() });
    const claude = accountRow(root);
    expect(claude.querySelector('.count')?.textContent).toBe('4 / 6');
    expect(claude.querySelector('.slot')?.textContent).toBe('next slot in 42s');
    expect(claude.querySelector<HTMLElement>('.bar-fill')?.style.width).toBe('67%');
    expect(accountRow(root, 'chatgpt/firefox-default').querySelector('.slot')?.textContent).toBe('slot free');
    expect([...root.querySelectorAll('.tabs-line')].map((l) => l.textContent)).toEqual(['claude: 2 tabs in firefox-container-1, firefox-default', 'chatgpt: no tab open']);
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
    const root = draw({ status: status({ accounts: [], targets: [] }) });
    expect(root.querySelector('.accounts .empty')?.textContent).toBe('No requests yet: each account (platform and container) appears here after its first request.');
  });

  it('renders a hostile lastError message and host reason as text, never as HTML', () => {
    const evil = '<img src=x onerror="globalThis.pwned=1"><script>globalThis.pwned=2</script><b>bold</b>';
    const base = status({ accounts: [account({ lastError: { code: 'upstream_5xx', message: evil, at: NOW } })] });
    const root = draw({ status: { ...base, host: { ...base.host, connected: false, reason: evil } } });
    expect(root.querySelectorAll('img, script, b')).toHaveLength(0);
    expect(root.querySelector('.last-error .message')?.textContent).toBe(evil);
    expect(root.querySelector('.host-line')?.textContent).toBe(`disconnected: ${evil}`);
    expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
  });

  it('keeps ticking from the last status every second without a new one', () => {
    vi.useFakeTimers({ now: NOW });
    try {
      const root = draw({ status: status({ accounts: [account({ circuitState: 'open', circuitRetryAt: NOW + 5_000 })] }) }, handlers(), Date.now());
      const timer = setInterval(() => updateTimes(root, Date.now()), 1_000);
      vi.advanceTimersByTime(3_000);
      expect(root.querySelector('.retry')?.textContent).toBe('retry in 2s');
      clearInterval(timer);
    } finally {
      vi.useRealTimers();
    }
  });
});
