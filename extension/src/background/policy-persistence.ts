import { isConductorError, type ErrorCode } from '../../../shared/errors.js';
import type { HostMethod, HostPayload, HostResult } from '../../../shared/messages.js';
import {
  admissionOf,
  PersistedAccountSchema,
  PersistedSystemSchema,
  PersistedTargetSchema,
  type AdmittedLease,
  type LoadedPolicyState,
  type PolicyChanges,
  type PolicyPersistence,
} from '../../../shared/policy-state.js';
import { accountKey, targetKey } from '../../../shared/platforms.js';
import type { PolicyEngineApi } from '../policy/types.js';
import type { BrowserApi } from './browser-api.js';

/** Every storage.local key of the policy mirror starts with this; one key per entry keeps saves incremental. */
export const POLICY_STORAGE_PREFIX = 'conductorFx.policy.';
const TARGET = `${POLICY_STORAGE_PREFIX}target.`;
const ACCOUNT = `${POLICY_STORAGE_PREFIX}account.`;
/** Version-1 windows, one per platform: loaded (as the default container's account), removed by the next sync. */
const PLATFORM = `${POLICY_STORAGE_PREFIX}platform.`;
const SYSTEM = `${POLICY_STORAGE_PREFIX}system`;

/** Entries per policy.load page (the host keeps each answer under Firefox's 1 MiB). */
const LOAD_PAGE = 200;

/** The host's refusals that mean its store cannot take the write (the popup shows them); others are the link's. */
const STORE_ERRORS: ReadonlySet<string> = new Set<ErrorCode>(['disk_full', 'db_error', 'db_locked']);

/** How soon a sync the host failed to store is offered again (disk space or write access may be back). */
export const CATCH_UP_RETRY_MS = 5_000;

/** The host calls the mirror needs, and where it reports a confirmed save. */
export interface PolicyHost {
  readonly connected: boolean;
  request<M extends HostMethod>(type: M, payload: HostPayload<M>): Promise<HostResult<M>>;
  noteSaved(savedAt: number): void;
  /** Why the host could not store a write (the add-on keeps enforcing from storage.local meanwhile). */
  noteStoreError(code: ErrorCode, message: string): void;
}

/** The timers the mirror's catch-up retry runs on. */
export interface MirrorTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type PolicyStorage = Pick<BrowserApi, 'storageGet' | 'storageSet' | 'storageRemove'>;

/** The engine calls a host sync needs. */
export type ReconcilingEngine = Pick<PolicyEngineApi, 'reconcile' | 'exportState'>;

/**
 * The engine's persistence: every save goes to storage.local (so a browser restart without the
 * host still restores the circuit) and to the host when it is connected. A save the host missed
 * is not replayed piecemeal: the next host sync reconciles (stricter wins) and pushes everything.
 * A sync the host cannot store (disk full, read-only DB) is reported and offered again every
 * CATCH_UP_RETRY_MS while the host stays connected, so it catches up once it can write again.
 */
export class PolicyMirror implements PolicyPersistence {
  private tail: Promise<unknown> = Promise.resolve();
  private hostBehind = true;
  private syncQueued = false;
  private engine: ReconcilingEngine | null = null;
  private currentSync: Promise<void> = Promise.resolve();
  /** Version-1 keys found by load(): removed once their accounts have been written. */
  private legacyKeys: string[] = [];
  private catchUpTimer: unknown = null;

  constructor(
    private readonly storage: PolicyStorage,
    private readonly host: PolicyHost,
    private readonly log?: (message: string, fields?: Record<string, unknown>) => void,
    private readonly timers?: MirrorTimers,
  ) {}

  /** What storage.local holds: the engine validates and clamps every entry. */
  async load(): Promise<LoadedPolicyState> {
    const all = await this.storage.storageGet(null);
    const state = { targets: [] as unknown[], accounts: [] as unknown[], platforms: [] as unknown[], system: null as unknown };
    for (const [key, value] of Object.entries(all)) {
      if (key.startsWith(TARGET)) state.targets.push(value);
      else if (key.startsWith(ACCOUNT)) state.accounts.push(value);
      else if (key.startsWith(PLATFORM)) {
        state.platforms.push(value);
        this.legacyKeys.push(key);
      }
      else if (key === SYSTEM) state.system = value;
    }
    return state;
  }

  /**
   * Mirrors the changes to the host when it is there and to storage.local; saves run in order.
   * The policy.save frame is posted synchronously, before any await, so the host gets saves and
   * admits in the order the engine handed them over.
   */
  save(changes: PolicyChanges): Promise<void> {
    const toHost = !this.hostBehind && this.host.connected ? this.postSave(changes) : null;
    return this.serial(async () => {
      await this.writeStorage(changes);
      if (toHost !== null && (await toHost)) return;
      this.fallBehind();
    });
  }

  /**
   * The write-ahead of one dispatch: posts policy.admit now, synchronously. The engine does not
   * wait for it (see engine.ts); the relay awaits the host's commit of the journal row it sends next
   * over the same FIFO port before it dispatches, so the host commits this admission first.
   * storage.local gets the dispatch with the engine's next debounced save of the rows; a host that is
   * behind gets it with the next sync.
   */
  admit(lease: AdmittedLease): void {
    if (this.hostBehind || !this.host.connected) return;
    void this.posted(this.host.request('policy.admit', admissionOf(lease))).then((ok) => {
      if (!ok) this.fallBehind();
    });
  }

  /** The host missed a write: stop sending it deltas until a sync has pushed everything. */
  private fallBehind(): void {
    this.hostBehind = true;
    if (this.host.connected && !this.syncQueued) void this.syncWithHost();
  }

  /** Posts one policy.save now; resolves to whether the host committed it (never rejects). */
  private postSave(changes: PolicyChanges): Promise<boolean> {
    return this.posted(this.host.request('policy.save', changes));
  }

  /** Whether a posted write was committed by the host (noted as the last save); never rejects. */
  private posted(reply: Promise<{ savedAt: number }>): Promise<boolean> {
    return reply.then(
      ({ savedAt }) => {
        this.host.noteSaved(savedAt);
        return true;
      },
      (err: unknown) => {
        this.log?.('policy write to the host failed; a sync pushes everything', { error: String(err) });
        this.noteStoreError(err);
        return false;
      },
    );
  }

  /** The engine a host sync reconciles into; set once it is initialized. */
  attach(engine: ReconcilingEngine): void {
    this.engine = engine;
  }

  /**
   * Brings host and engine together (call after each hello): loads the host's state page by
   * page, reconciles it into the engine (stricter wins), then writes the merged state to
   * storage.local and pushes it to the host.
   */
  syncWithHost(): Promise<void> {
    this.syncQueued = true;
    this.currentSync = this.serial(async () => {
      this.syncQueued = false;
      const engine = this.engine;
      if (engine === null || !this.host.connected) return;
      try {
        engine.reconcile(await this.loadFromHost());
        const changes = toChanges(engine.exportState());
        // The engine marks dirty only what the host lacks; what the host held stricter must reach storage.local too.
        await this.writeStorage(changes);
        const { savedAt } = await this.host.request('policy.save', changes);
        this.hostBehind = false;
        this.host.noteSaved(savedAt);
      } catch (err) {
        this.hostBehind = true;
        this.log?.('policy sync with the host failed', { error: String(err) });
        this.noteStoreError(err);
        this.scheduleCatchUp();
      }
    });
    return this.currentSync;
  }

  /** Shows a store failure of the host as the reason it is behind. */
  private noteStoreError(err: unknown): void {
    if (isConductorError(err) && STORE_ERRORS.has(err.code)) this.host.noteStoreError(err.code, err.message);
  }

  /** Offers the host a sync again later, unless one is already due or the host has gone (its hello syncs). */
  private scheduleCatchUp(): void {
    if (this.timers === undefined || this.catchUpTimer !== null || !this.host.connected) return;
    this.catchUpTimer = this.timers.setTimeout(() => {
      this.catchUpTimer = null;
      if (this.hostBehind && !this.syncQueued) void this.syncWithHost();
    }, CATCH_UP_RETRY_MS);
  }

  /** Resolves when the latest host sync has finished (at once when none runs). */
  whenSynced(): Promise<void> {
    return this.currentSync;
  }

  private async loadFromHost(): Promise<LoadedPolicyState> {
    const state = { targets: [] as unknown[], accounts: [] as unknown[], system: null as unknown };
    let cursor: string | null = null;
    do {
      const page: HostResult<'policy.load'> = await this.host.request('policy.load', { cursor, limit: LOAD_PAGE });
      state.targets.push(...page.targets);
      state.accounts.push(...page.accounts);
      if (page.system !== null && page.system !== undefined) state.system = page.system;
      cursor = page.nextCursor;
    } while (cursor !== null);
    return state;
  }

  private async writeStorage(changes: PolicyChanges): Promise<void> {
    const items: Record<string, unknown> = {};
    for (const t of changes.targets) items[TARGET + targetKey(t)] = t;
    for (const a of changes.accounts) items[ACCOUNT + accountKey(a)] = a;
    if (changes.system !== null) items[SYSTEM] = changes.system;
    if (Object.keys(items).length > 0) await this.storage.storageSet(items);
    if (changes.deletedTargets.length > 0) await this.storage.storageRemove(changes.deletedTargets.map((t) => TARGET + targetKey(t)));
    if (changes.accounts.length > 0 && this.legacyKeys.length > 0) {
      const legacy = this.legacyKeys;
      this.legacyKeys = [];
      await this.storage.storageRemove(legacy);
    }
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** The engine's exported state as one save, keeping only entries that pass the persisted schemas. */
function toChanges(state: LoadedPolicyState): PolicyChanges {
  const valid = <T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, values: unknown[]): T[] =>
    values.flatMap((v) => {
      const r = schema.safeParse(v);
      return r.success ? [r.data] : [];
    });
  const system = PersistedSystemSchema.safeParse(state.system);
  return {
    targets: valid(PersistedTargetSchema, state.targets),
    deletedTargets: [],
    accounts: valid(PersistedAccountSchema, state.accounts ?? []),
    system: system.success ? system.data : null,
  };
}
