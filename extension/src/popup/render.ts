// Pure rendering of the popup: a BrowserStatus and the time in, a DOM tree out. Every piece of
// data goes in through textContent or an attribute, never through innerHTML.
import { describePace, type AccountSnapshot, type TargetSnapshot, type BrowserStatus, type HostLink } from '../../../shared/status.js';
import type { Target } from '../../../shared/platforms.js';
import { circuitWords, errorAdvice, formatAgo, formatCountdown, hostReasonHint, plural } from './format.js';

/** What the user's clicks do; main.ts sends them to the background as PopupCommands. */
export interface PopupHandlers {
  reset(target: Target): void;
  pause(): void;
  resume(): void;
}

/** What the popup knows: the last status (null before the first) and the link to the background. */
export interface PopupView {
  status: BrowserStatus | null;
  background: 'connecting' | 'connected' | 'disconnected';
}

type Child = Node | string | null | false;

/** Builds an element with classes and children; strings become text nodes. */
function el<K extends keyof HTMLElementTagNameMap>(doc: Document, tag: K, className: string | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  if (className !== null) node.className = className;
  for (const child of children) {
    if (child === null || child === false) continue;
    node.append(typeof child === 'string' ? doc.createTextNode(child) : child);
  }
  return node;
}

/** A text that counts down to `deadline` and is re-written every second by updateTimes(). */
function countdown(doc: Document, className: string, label: string, deadline: number, now: number, due: string): HTMLSpanElement {
  const span = el(doc, 'span', className, formatCountdown(label, deadline, now, due));
  span.dataset['deadline'] = String(deadline);
  span.dataset['label'] = label;
  span.dataset['due'] = due;
  return span;
}

/** A "4m ago" that keeps aging with updateTimes(); the exact time is in its tooltip. */
function ago(doc: Document, at: number, now: number): HTMLTimeElement {
  const time = el(doc, 'time', 'ago', formatAgo(at, now));
  time.dateTime = new Date(at).toISOString();
  time.title = new Date(at).toLocaleString();
  time.dataset['since'] = String(at);
  return time;
}

function button(doc: Document, text: string, focusKey: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = el(doc, 'button', 'btn', text);
  b.type = 'button';
  b.dataset['focusKey'] = focusKey;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

/** Builds the whole popup for `view` at time `now`. */
export function renderPopup(doc: Document, view: PopupView, now: number, handlers: PopupHandlers): HTMLElement {
  const main = el(doc, 'main', 'popup');
  const header = el(doc, 'header', 'popup-header', el(doc, 'h1', null, 'conductor-fx'));
  main.append(header);
  const { status } = view;
  if (status === null) {
    main.append(
      el(doc, 'p', 'empty', view.background === 'disconnected' ? 'The add-on background is not answering; retrying…' : 'Waiting for the add-on background…'),
    );
    return main;
  }
  header.append(el(doc, 'span', 'version', `v${status.extensionVersion}`));
  if (!status.paused.paused) header.append(button(doc, 'Pause all', 'pause', 'Pause all dispatch', () => handlers.pause()));
  if (view.background === 'disconnected') {
    main.append(el(doc, 'p', 'notice', 'Lost the add-on background; showing the last status received.'));
  }
  if (status.paused.paused) main.append(pausedBanner(doc, status.paused, now, handlers));
  main.append(hostSection(doc, status.host, now));
  if (status.policyConfig.error !== null) {
    const warning = el(doc, 'p', 'warn policy-error', `policy.json: ${status.policyConfig.error} — using the previous policy`);
    warning.setAttribute('role', 'alert');
    main.append(warning);
  }
  main.append(accountsSection(doc, status, now, handlers));
  if (status.droppedMessages > 0) {
    main.append(el(doc, 'p', 'dropped', `${plural(status.droppedMessages, 'message')} from pages or popups dropped (failed validation or sender check)`));
  }
  return main;
}

function pausedBanner(doc: Document, paused: BrowserStatus['paused'], now: number, handlers: PopupHandlers): HTMLElement {
  const banner = el(
    doc,
    'section',
    'banner banner--paused',
    el(doc, 'strong', null, 'Paused'),
    ': ',
    paused.reason ?? 'no reason given',
    paused.since !== null && ' (since ',
    paused.since !== null && ago(doc, paused.since, now),
    paused.since !== null && ')',
    ' ',
    button(doc, 'Resume', 'resume', 'Resume all dispatch', () => handlers.resume()),
  );
  banner.setAttribute('role', 'status');
  return banner;
}

function hostSection(doc: Document, host: HostLink, now: number): HTMLElement {
  const section = el(doc, 'section', 'host', el(doc, 'h2', null, 'Host'));
  const state = el(doc, 'span', `dot ${host.connected ? 'dot--ok' : 'dot--bad'}`);
  state.setAttribute('aria-hidden', 'true');
  const line = el(doc, 'p', 'host-line', state, host.connected ? 'connected' : 'disconnected');
  if (host.connected && host.hostVersion !== null) line.append(` (host v${host.hostVersion})`);
  if (!host.connected && host.reason !== null) line.append(`: ${host.reason}`);
  section.append(line);
  const hint = hostReasonHint(host.reason);
  if (!host.connected && hint !== null) section.append(el(doc, 'p', 'hint', hint));
  if (!host.connected) section.append(el(doc, 'p', 'muted', 'Limits are still enforced from the add-on’s own storage.'));
  if (host.storeError !== null) {
    const e = host.storeError;
    const why = el(doc, 'p', 'warn', `Not saved in the host’s DB (${e.code}): ${e.message}. Limits are still enforced from the add-on’s own storage; the host catches up once it can write. Since `, ago(doc, e.since, now), '.');
    why.setAttribute('role', 'alert');
    section.append(why);
  }
  if (host.api !== null) {
    const api = host.api.listening && host.api.port !== null ? `API: listening on 127.0.0.1:${host.api.port}` : `API: not listening${host.api.error !== null ? `: ${host.api.error}` : ''}`;
    section.append(el(doc, 'p', host.api.listening ? null : 'warn', api));
  }
  const facts = el(doc, 'dl', 'facts');
  const fact = (term: string, ...value: Child[]) => facts.append(el(doc, 'dt', null, term), el(doc, 'dd', null, ...value));
  if (host.dbPath !== null) fact('DB', host.dbPath);
  if (host.lastSavedAt !== null) fact('Saved', ago(doc, host.lastSavedAt, now));
  if (!host.connected && host.lastConnectedAt !== null) fact('Last connected', ago(doc, host.lastConnectedAt, now));
  if (host.recovery !== null) {
    const r = host.recovery;
    fact(
      'Recovery',
      ago(doc, r.startedAt, now),
      `: ${plural(r.interruptedRequestCount, 'interrupted request')}, ${plural(r.recoveredExecutionStateCount, 'state')} restored, ${plural(r.requeuedRenewalJobCount, 'job')} requeued`,
    );
  }
  if (facts.childElementCount > 0) section.append(facts);
  return section;
}

/** One section per account (platform + container): its window, circuit, hold and pace, and the targets (client ids) under it. */
function accountsSection(doc: Document, status: BrowserStatus, now: number, handlers: PopupHandlers): HTMLElement {
  const section = el(doc, 'section', 'accounts', el(doc, 'h2', null, 'Accounts'));
  for (const t of status.tabs) {
    section.append(el(doc, 'p', 'tabs-line', `${t.platform}: ${t.tabs === 0 ? 'no tab open' : plural(t.tabs, 'tab')}${t.containers.length > 0 ? ` in ${t.containers.join(', ')}` : ''}`));
  }
  if (status.accounts.length === 0) {
    section.append(el(doc, 'p', 'empty', 'No requests yet: each account (platform and container) appears here after its first request.'));
    return section;
  }
  const list = el(doc, 'ul', 'account-list');
  for (const a of status.accounts) {
    const targets = status.targets.filter((t) => t.platform === a.platform && a.clients.includes(t.clientId));
    list.append(accountRow(doc, a, targets, now, handlers));
  }
  section.append(list);
  return section;
}

function accountRow(doc: Document, a: AccountSnapshot, targets: TargetSnapshot[], now: number, handlers: PopupHandlers): HTMLLIElement {
  const words = circuitWords(a.circuitState);
  const row = el(doc, 'li', `account account--${words}`);
  row.dataset['account'] = `${a.platform}/${a.container}`;
  const badge = el(doc, 'span', `badge badge--${words}`, words);
  const head = el(doc, 'div', 'row-head', el(doc, 'span', 'name', `${a.platform} · ${a.container}`), ' ', badge);
  if (a.circuitState !== 'closed' && a.circuitRetryAt !== null) head.append(' ', countdown(doc, 'retry', 'retry in', a.circuitRetryAt, now, 'retry due'));
  row.append(head);

  const used = a.recentDispatchCount;
  const bar = el(doc, 'span', 'bar');
  const fill = el(doc, 'span', used >= a.limit ? 'bar-fill bar-fill--full' : 'bar-fill');
  fill.style.width = `${Math.min(100, Math.round((used / a.limit) * 100))}%`;
  bar.append(fill);
  bar.setAttribute('role', 'meter');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', String(a.limit));
  bar.setAttribute('aria-valuenow', String(used));
  bar.setAttribute('aria-label', `${a.platform} ${a.container} window usage`);
  const slot = a.nextSlotAt !== null && a.nextSlotAt > now ? countdown(doc, 'slot', 'next slot in', a.nextSlotAt, now, 'slot free') : el(doc, 'span', 'slot', 'slot free');
  row.append(el(doc, 'div', 'usage', bar, ' ', el(doc, 'span', 'count', `${used} / ${a.limit}`), ' · ', slot));
  row.append(el(doc, 'div', 'pace', describePace(a.pace, now)));

  const stats = el(doc, 'div', 'stats', plural(a.consecutiveFailures, 'failure'), ' · ');
  if (a.backoffUntil !== null && a.backoffUntil > now) stats.append(countdown(doc, 'backoff', 'held', a.backoffUntil, now, 'no hold'));
  else stats.append('no hold');
  stats.append(` · ${a.inFlight} in flight · ${a.waiting} waiting`);
  row.append(stats);
  if (a.lastError !== null) {
    const advice = errorAdvice(a.lastError.code, a.platform);
    row.append(el(doc, 'div', 'last-error', el(doc, 'span', 'code', a.lastError.code), ': ', el(doc, 'span', 'message', a.lastError.message), ' · ', ago(doc, a.lastError.at, now)));
    if (advice !== null) row.append(el(doc, 'div', 'advice', advice));
  }
  if (targets.length > 0) {
    const list = el(doc, 'ul', 'target-list');
    for (const t of targets) list.append(targetRow(doc, t, now, handlers));
    row.append(list);
  }
  return row;
}

function targetRow(doc: Document, t: TargetSnapshot, now: number, handlers: PopupHandlers): HTMLLIElement {
  const row = el(doc, 'li', 'target');
  row.dataset['target'] = `${t.platform}/${t.clientId}`;
  const head = el(doc, 'div', 'row-head', el(doc, 'span', 'name', t.clientId), ` · ${t.inFlight} in flight · ${t.waiting} waiting`);
  if (t.interrupted > 0) head.append(` · ${t.interrupted} interrupted`);
  head.append(' ', button(doc, 'Reset', `reset:${t.platform}/${t.clientId}`, `Reset the circuit and hold of the accounts ${t.clientId} used on ${t.platform}`, () => handlers.reset({ platform: t.platform, clientId: t.clientId })));
  row.append(head);
  if (t.staleSweepCount > 0) {
    const sweep = el(doc, 'div', 'sweeps', `${plural(t.staleSweepCount, 'stale sweep')}`);
    if (t.lastStaleSweepAt !== null) sweep.append(', last ', ago(doc, t.lastStaleSweepAt, now));
    row.append(sweep);
  }
  return row;
}

/** Re-writes every countdown and "ago" under `root` for time `now` (called every second). */
export function updateTimes(root: ParentNode, now: number): void {
  for (const node of root.querySelectorAll<HTMLElement>('[data-deadline]')) {
    const { deadline, label, due } = node.dataset;
    node.textContent = formatCountdown(label ?? '', Number(deadline), now, due ?? '');
  }
  for (const node of root.querySelectorAll<HTMLElement>('[data-since]')) {
    node.textContent = formatAgo(Number(node.dataset['since']), now);
  }
}
