// The popup's entry: a port to the background brings BrowserStatus updates (pushed, never
// polled); clicks go back as PopupCommands. Countdowns tick locally every second.
import { POPUP_PORT, PopupCommandSchema, PopupStatusSchema, type PopupCommand } from '../../../shared/extension-messages.js';
import { renderPopup, updateTimes, type PopupView } from './render.js';

const RECONNECT_MS = 1_000;
/** The reason a pause from the popup carries (the background and GET /v1/browser show it). */
const POPUP_PAUSE_REASON = 'paused from the popup';

const app = document.getElementById('app');
if (app === null) throw new Error('popup.html has no #app element');
const root: HTMLElement = app;

let port: browser.runtime.Port | null = null;
const view: PopupView = { status: null, background: 'connecting' };
/** The engine's time at the last status and the monotonic time it arrived (see engineNow). */
let clockAt = { engine: Date.now(), mono: performance.now() };

/**
 * Now on the engine's clock, which runs steady through wall-clock jumps (background/steady-clock.ts):
 * the countdowns are measured against the deadlines it set, not against a wall clock that jumped.
 */
function engineNow(): number {
  return clockAt.engine + Math.floor(performance.now() - clockAt.mono);
}

function send(command: PopupCommand): void {
  port?.postMessage(PopupCommandSchema.parse(command));
}

const handlers = {
  reset: (target: { platform: string; clientId: string }) => send({ type: 'reset', ...target }),
  pause: () => send({ type: 'pause', reason: POPUP_PAUSE_REASON }),
  resume: () => send({ type: 'resume' }),
};

/** Re-renders, keeping keyboard focus on the same control when it is still there. */
function draw(): void {
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset['focusKey'] : undefined;
  root.replaceChildren(renderPopup(document, view, engineNow(), handlers));
  if (focused !== undefined) {
    for (const candidate of root.querySelectorAll<HTMLElement>('[data-focus-key]')) {
      if (candidate.dataset['focusKey'] === focused) candidate.focus();
    }
  }
}

function connect(): void {
  port = browser.runtime.connect({ name: POPUP_PORT });
  port.onMessage.addListener((raw: unknown) => {
    const parsed = PopupStatusSchema.safeParse(raw);
    if (!parsed.success) return;
    view.status = parsed.data.status;
    clockAt = { engine: parsed.data.status.generatedAt, mono: performance.now() };
    view.background = 'connected';
    draw();
  });
  port.onDisconnect.addListener(() => {
    port = null;
    view.background = 'disconnected';
    draw();
    setTimeout(connect, RECONNECT_MS);
  });
}

draw();
connect();
setInterval(() => updateTimes(root, engineNow()), 1_000);
