// Stand-ins for the other side of the host's pipe in unit tests of the loopback API: an
// ExtensionLink the test scripts, and a journal kept in memory. Integration tests use the real host.
import type { ExtensionLink, JournalAccess, Logger } from '../../native-host/src/api/context.js';
import { ConductorError } from '../../shared/errors.js';
import type { JournalEntry, JournalOutcome } from '../../shared/journal.js';
import type { ExtensionMethod, ExtensionPayload, ExtensionResult, HostStatus } from '../../shared/messages.js';
import { DEFAULT_POLICY_CONFIG } from '../../shared/policy-config.js';
import type { RelayChunk } from '../../shared/relay.js';
import type { BrowserStatus } from '../../shared/status.js';

type Handler<M extends ExtensionMethod> = (payload: ExtensionPayload<M>) => Promise<ExtensionResult<M>> | ExtensionResult<M>;

/** An add-on the test scripts: per-method handlers, a call log, chunk emission. */
export class FakeExtensionLink implements ExtensionLink {
  connected = true;
  readonly calls: { type: ExtensionMethod; payload: unknown }[] = [];
  private readonly handlers: { [M in ExtensionMethod]?: Handler<M> } = {};
  private readonly chunkListeners = new Map<string, Set<(chunk: RelayChunk) => void>>();

  /** Serves one method with `handler`. */
  on<M extends ExtensionMethod>(type: M, handler: Handler<M>): this {
    (this.handlers as Record<string, unknown>)[type] = handler;
    return this;
  }

  async request<M extends ExtensionMethod>(type: M, payload: ExtensionPayload<M>): Promise<ExtensionResult<M>> {
    this.calls.push({ type, payload });
    if (!this.connected) throw new ConductorError('extension_unavailable', 'the add-on is not connected to the host');
    const handler = this.handlers[type] as Handler<M> | undefined;
    if (handler === undefined) throw new ConductorError('unknown_type', `the fake add-on does not serve ${type}`);
    return handler(payload);
  }

  onChunk(requestId: string, listener: (chunk: RelayChunk) => void): () => void {
    const set = this.chunkListeners.get(requestId) ?? new Set();
    set.add(listener);
    this.chunkListeners.set(requestId, set);
    return () => set.delete(listener);
  }

  /** Sends a relay.chunk event as the add-on would. */
  emitChunk(chunk: RelayChunk): void {
    for (const listener of [...(this.chunkListeners.get(chunk.requestId) ?? [])]) listener(chunk);
  }

  /** The calls of one method, in order. */
  callsOf(type: ExtensionMethod): unknown[] {
    return this.calls.filter((c) => c.type === type).map((c) => c.payload);
  }
}

/** The request journal in a Map, newest first on list. */
export class MemoryJournal implements JournalAccess {
  readonly rows = new Map<string, JournalEntry>();

  record(entries: JournalEntry[]): void {
    for (const entry of entries) this.rows.set(entry.requestId, entry);
  }

  get(requestId: string): JournalEntry | null {
    return this.rows.get(requestId) ?? null;
  }

  list(query: { limit: number; platform: string | null; outcome?: JournalOutcome }): JournalEntry[] {
    return [...this.rows.values()]
      .filter((e) => (query.platform === null || e.platform === query.platform) && (query.outcome === undefined || e.outcome === query.outcome))
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, query.limit);
  }
}

/** A logger that keeps what it was told, so tests can check nothing secret was logged. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`info ${message} ${JSON.stringify(fields ?? {})}`);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`warn ${message} ${JSON.stringify(fields ?? {})}`);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`error ${message} ${JSON.stringify(fields ?? {})}`);
  }
}

/** A valid browser status with one mock-platform tab and one closed target. */
export function fakeBrowserStatus(now = 1_700_000_000_000): BrowserStatus {
  return {
    generatedAt: now,
    paused: { paused: false, reason: null, since: null },
    defaults: DEFAULT_POLICY_CONFIG,
    accounts: [
      {
        platform: 'mock',
        container: 'firefox-default',
        circuitState: 'closed',
        consecutiveFailures: 0,
        trips: 0,
        circuitRetryAt: null,
        backoffUntil: null,
        lastError: null,
        recentDispatchCount: 1,
        limit: 6,
        windowMs: 60_000,
        nextSlotAt: null,
        pace: { intervalMs: null, pinned: false, lastCutAt: null, lastCutReason: null },
        inFlight: 0,
        waiting: 0,
        clients: ['agent-1'],
      },
    ],
    targets: [
      {
        clientId: 'agent-1',
        platform: 'mock',
        inFlight: 0,
        waiting: 0,
        interrupted: 0,
        lastError: null,
        lastSuccessAt: now - 1_000,
        lastFailureAt: null,
        lastActivityAt: now - 1_000,
        lastActivityReason: 'success',
        lastStaleSweepAt: null,
        lastStaleSweepIdleMs: null,
        lastStaleSweepReason: null,
        lastStaleSweepRequestId: null,
        staleSweepCount: 0,
      },
    ],
    host: { connected: true, reason: null, hostVersion: '0.1.0', schemaVersion: 1, dbPath: '/tmp/x/artifact.db', lastSavedAt: null, storeError: null, lastConnectedAt: now, recovery: null, api: { listening: true, port: 7311, error: null } },
    tabs: [{ platform: 'mock', tabs: 1, containers: ['firefox-default'] }],
    droppedMessages: 0,
    extensionVersion: '0.1.0',
    policyConfig: { source: null, error: null, appliedAt: null },
  };
}

/** A valid host status for the fake host. */
export function fakeHostStatus(dataDir: string): HostStatus {
  return {
    hostVersion: '0.1.0',
    schemaVersion: 1,
    dbPath: `${dataDir}/artifact.db`,
    dataDir,
    pid: process.pid,
    startedAt: 1_700_000_000_000,
    recovery: { startedAt: 1_700_000_000_000, durationMs: 1, recoveredExecutionStateCount: 0, requeuedRenewalJobCount: 0, interruptedRequestCount: 0, recoveryNextAttemptAt: null },
    api: { listening: true, port: 0, error: null },
    lastSavedAt: null,
    extensionConnected: true,
    policy: { config: null, source: null, error: null },
  };
}

/** An admission as the add-on reports it. */
export const ADMISSION = { admittedAt: 1_700_000_000_500, queueDelayMs: 0, backoffDelayMs: 0, rateLimitDelayMs: 0, jitterDelayMs: 250, probe: false };

/** The code of the ConductorError `fn` throws; null when it returns, 'not-a-conductor-error' for anything else. */
export function thrownCode(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof ConductorError ? err.code : 'not-a-conductor-error';
  }
}
