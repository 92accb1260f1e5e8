import type { AdmittedLease, PersistedAccount, PersistedSystem, PersistedTarget, PolicyChanges, PolicyPersistence } from '../../../shared/policy-state.js';
import type { PolicyClock, PolicyLog } from './types.js';

/** An entry the writer can save: flagged dirty at most once between saves, its row built at save time. */
export interface Persistable<R> {
  dirty: boolean;
  toRow(now: number): R;
}

const RESOLVED: Promise<void> = Promise.resolve();
/** The engine never deletes targets; one frozen empty list serves every save. */
const NO_DELETIONS = Object.freeze([]) as unknown as PolicyChanges['deletedTargets'];

/**
 * The rows of `entries` at `now`, clearing their dirty flags and emptying the list in place (it is
 * reused: pops are inlined where `length = 0` is a slow runtime call in V8). An exact-size array: no growth.
 */
function takeRows<R>(entries: Persistable<R>[], now: number): R[] {
  const rows = new Array<R>(entries.length);
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries.pop() as Persistable<R>;
    entry.dirty = false;
    rows[i] = entry.toRow(now);
  }
  return rows;
}

const noop = (): void => {};
/** How soon a failed background save is tried again (the dirty marks are kept meanwhile). */
const RETRY_MS = 1_000;

/**
 * Incremental persistence: remembers which targets and accounts changed and saves only their
 * rows, built fresh at save time. Changes are coalesced for `debounceMs`; `flush()` saves at once;
 * an admission is written ahead on its own, as one small record (`admit()`). Every save and admit
 * is handed to the persistence synchronously, in the order the changes happened (the persistence
 * applies them in that order), so an admission never waits behind a slow save. A failed save warns
 * and marks every entry dirty again (`markAll`: failures are rare, and a whole re-save needs no
 * record of what each save carried), then retries; the rows are rebuilt from the live state then,
 * so a retry never writes stale data.
 *
 * This runs on every admission, so it allocates little: dirty tracking is a flag plus a list (not
 * a Set), the lists are emptied as their rows are built and reused, and the settle handlers are bound once.
 */
export class PersistenceWriter {
  private targets: Persistable<PersistedTarget>[] = [];
  private accounts: Persistable<PersistedAccount>[] = [];
  private system = false;
  private timer: unknown = null;
  /** Saves handed off and not settled yet, and the latest of them. */
  private pending = 0;
  private latest: Promise<void> = RESOLVED;
  private disposed = false;

  constructor(
    private readonly persistence: PolicyPersistence,
    private readonly clock: PolicyClock,
    /** Coalescing delay; a new value applies from the next change on. */
    public debounceMs: number,
    private readonly systemRow: () => PersistedSystem,
    /** Marks every target, account and the system dirty (after a failed save). */
    private readonly markAll: () => void,
    private readonly log: PolicyLog | undefined,
  ) {}

  markTarget(entry: Persistable<PersistedTarget>): void {
    if (!entry.dirty) {
      entry.dirty = true;
      this.targets.push(entry);
    }
    if (this.timer === null) this.schedule(this.debounceMs);
  }

  markAccount(entry: Persistable<PersistedAccount>): void {
    if (!entry.dirty) {
      entry.dirty = true;
      this.accounts.push(entry);
    }
    if (this.timer === null) this.schedule(this.debounceMs);
  }

  markSystem(): void {
    this.system = true;
    if (this.timer === null) this.schedule(this.debounceMs);
  }

  private get dirty(): boolean {
    return this.targets.length > 0 || this.accounts.length > 0 || this.system;
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.disposed) return;
    this.timer = this.clock.setTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    // A failure is warned about and retried by the save itself.
    this.flush().catch(noop);
  };

  /**
   * The write-ahead of one dispatch: handed to persistence.admit() now, not waited for. Its rows are
   * marked dirty as well, so the next save carries the same dispatch if this one is lost.
   */
  admit(lease: AdmittedLease): void {
    try {
      this.persistence.admit(lease);
    } catch (err) {
      this.log?.warn('policy admission write-ahead failed; the next save carries it', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Saves every dirty row now; resolves once they and every save handed off before are durable. */
  flush(): Promise<void> {
    if (this.dirty) return this.saveNow();
    return this.pending === 0 ? RESOLVED : this.latest;
  }

  private saveNow(): Promise<void> {
    const now = this.clock.now();
    const system = this.system;
    this.system = false;
    const changes: PolicyChanges = {
      targets: takeRows(this.targets, now),
      deletedTargets: NO_DELETIONS,
      accounts: takeRows(this.accounts, now),
      system: system ? this.systemRow() : null,
    };
    let save: Promise<void>;
    try {
      save = this.persistence.save(changes);
    } catch (err) {
      save = Promise.reject(err);
    }
    this.pending += 1;
    this.latest = save;
    save.then(this.onSaved, this.onSaveFailed);
    return save;
  }

  private readonly onSaved = (): void => {
    this.pending -= 1;
  };

  /** Warns, marks everything dirty again (rows are rebuilt at the retry) and retries. */
  private readonly onSaveFailed = (err: unknown): void => {
    this.pending -= 1;
    this.log?.warn('policy state save failed; will retry', { error: err instanceof Error ? err.message : String(err) });
    // The retry pause replaces a pending debounce (the marks below then arm nothing sooner).
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.schedule(Math.max(this.debounceMs, RETRY_MS));
    this.markAll();
  };

  /** Stops the debounce timer; pending changes stay unsaved unless flushed first. */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
