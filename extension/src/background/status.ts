import type { PopupCommand, PopupStatus } from '../../../shared/extension-messages.js';
import type { BrowserStatus, HostLink, PlatformTabsSchema, PolicyConfigStatus } from '../../../shared/status.js';
import type { z } from 'zod';
import type { PolicyEngineApi } from '../policy/types.js';
import type { PortLike } from './browser-api.js';
import type { DropCounter } from './message-guard.js';
import { parsePopupCommand } from './message-guard.js';

/** The engine calls status and control need. */
export type StatusEngine = Pick<PolicyEngineApi, 'getSnapshot' | 'onChange' | 'resetTarget' | 'pause' | 'resume'>;

export interface StatusDeps {
  engine: Promise<StatusEngine>;
  link: { readonly state: HostLink; onStateChange(listener: () => void): () => void };
  tabs: { summary(): z.infer<typeof PlatformTabsSchema>[]; onChange(listener: () => void): () => void };
  dropped: Pick<DropCounter, 'count' | 'drop' | 'onDrop'>;
  /** Where the active policy config came from, and why the last policy.json was refused. */
  policyConfig: { readonly state: PolicyConfigStatus; onChange(listener: () => void): () => void };
  extensionVersion: string;
  timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  /** Pushes to popups are coalesced over this many ms. */
  throttleMs?: number;
}

/** The popup coalesces bursts (a stream touching its lease) into one push per this many ms. */
export const STATUS_PUSH_THROTTLE_MS = 250;

/**
 * The browser status: builds the one document the popup and GET /v1/browser share, pushes it to
 * connected popups when anything changes (throttled, no polling), and runs the user's commands
 * (reset a circuit, pause / resume) from the popup or the host.
 */
export class StatusService {
  private engine: StatusEngine | null = null;
  private readonly popups = new Set<PortLike>();
  private timer: unknown = null;

  constructor(private readonly deps: StatusDeps) {
    const changed = () => this.changed();
    deps.link.onStateChange(changed);
    deps.tabs.onChange(changed);
    deps.dropped.onDrop(changed);
    deps.policyConfig.onChange(changed);
    void deps.engine.then((engine) => {
      this.engine = engine;
      engine.onChange(changed);
      this.changed();
    });
  }

  /** The status now; waits for the engine on first use. */
  async current(): Promise<BrowserStatus> {
    return this.build(await this.deps.engine);
  }

  /** Registers a popup port (its sender already checked): it gets the status now and on every change. */
  addPopup(port: PortLike): void {
    this.popups.add(port);
    port.onDisconnect.addListener(() => this.popups.delete(port));
    port.onMessage.addListener((raw) => {
      const command = parsePopupCommand(raw);
      if (command === null) this.deps.dropped.drop('invalid popup message');
      else void this.run(command);
    });
    if (this.engine !== null) this.post(port, this.build(this.engine));
  }

  /** Runs a user command (from the popup, or the host's control.* methods); false when a reset names an unknown target. */
  async run(command: PopupCommand): Promise<boolean> {
    const engine = await this.deps.engine;
    if (command.type === 'reset') return engine.resetTarget({ platform: command.platform, clientId: command.clientId });
    if (command.type === 'pause') engine.pause(command.reason);
    else engine.resume();
    return true;
  }

  private build(engine: StatusEngine): BrowserStatus {
    return {
      ...engine.getSnapshot(),
      host: this.deps.link.state,
      tabs: this.deps.tabs.summary(),
      droppedMessages: this.deps.dropped.count,
      extensionVersion: this.deps.extensionVersion,
      policyConfig: this.deps.policyConfig.state,
    };
  }

  private changed(): void {
    if (this.timer !== null || this.popups.size === 0) return;
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = null;
      if (this.engine === null) return;
      const status = this.build(this.engine);
      for (const port of [...this.popups]) this.post(port, status);
    }, this.deps.throttleMs ?? STATUS_PUSH_THROTTLE_MS);
  }

  private post(port: PortLike, status: BrowserStatus): void {
    try {
      port.postMessage({ type: 'status', status } satisfies PopupStatus);
    } catch {
      this.popups.delete(port); // closed without a disconnect event reaching us yet
    }
  }
}
