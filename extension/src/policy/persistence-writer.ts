import type { PersistedPlatform, PersistedSystem, PersistedTarget, PolicyChanges, PolicyPersistence } from '../../../shared/policy-state.js';
import type { PolicyClock, PolicyLog } from './types.js';

/** An entry the writer can save: flagged dirty at most once between saves, its row built at save time. */
export interface Persistable<R> {
  dirty: boolean;
  toRow(now: number): R;
}

/** An admission written ahead: undone if its save fails (it never went out). */
export interface WrittenAhead {
  undoWrite(): void;
}

const RESOLVED: Promise<void> = Promise.resolve();
/** The engine never deletes targets; one frozen empty list serves every save. */
const NO_DELETIONS = Object.freeze([]) as unknown as PolicyChanges['deletedTargets'];

/** The rows of `entries` at `now`, clearing their dirty flags (an exact-size array: no growth). */
function rowsOf<R>(entries: Persistable<R>[], now: number): R[] {
  const rows = new Array<R>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Persistable<R>;
    entry.dirty = false;
    rows[i] = entry.toRow(now);
  }
  return rows;
}

/** Empties a list in place (`length = 0` is a slow runtime call in V8; pops are inlined). */
function clear(list: unknown[]): void {
  while (list.length > 0) list.pop();
}
const noop = (): void => {};
/** How soon a failed background save is tried again (the dirty marks are kept meanwhile). */
const RETRY_MS = 1_000;

/**
 * Incremental persistence: remembers which targets and platforms changed and saves only their
 * rows, built fresh at save time. Changes are coalesced for `debounceMs`; `writeAhead()` and
 * `flush()` save at once. Saves never overlap and never reorder: a flush during a save waits for
 * it, then saves everything dirty by then in one go (group commit). A failed save marks its
 * entries dirty again and undoes the admissions it carried.
 *
 * This runs on every admission, so it allocates little: dirty tracking is a flag plus a list (not
 * a Set), the lists are double-buffered (one collecting, one being saved: saves never overlap),
 * and the settle handlers are bound once.
 */
export class PersistenceWriter {
  private targets: Persistable<PersistedTarget>[] = [];
  private platforms: Persistable<PersistedPlatform>[] = [];
  private admissions: WrittenAhead[] = [];
  private system = false;
  // What the save in flight carries (empty when none is).
  private savingTargets: Persistable<PersistedTarget>[] = [];
  private savingPlatforms: Persistable<PersistedPlatform>[] = [];
  private savingAdmissions: WrittenAhead[] = [];
  private savingSystem = false;
  private timer: unknown = null;
  private inflight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private disposed = false;

  constructor(
    private readonly persistence: PolicyPersistence,
    private readonly clock: PolicyClock,
    private readonly debounceMs: number,
    private readonly systemRow: () => PersistedSystem,
    private readonly log: PolicyLog | undefined,
  ) {}

  markTarget(entry: Persistable<PersistedTarget>): void {
    if (!entry.dirty) {
      entry.dirty = true;
      this.targets.push(entry);
    }
    if (this.timer === null) this.schedule(this.debounceMs);
  }

  markPlatform(entry: Persistable<PersistedPlatform>): void {
    if (!entry.dirty) {
      entry.dirty = true;
      this.platforms.push(entry);
    }
    if (this.timer === null) this.schedule(this.debounceMs);
  }

  markSystem(): void {
    this.system = true;
    if (this.timer === null) this.schedule(this.debounceMs);
  }

  private get dirty(): boolean {
    return this.targets.length > 0 || this.platforms.length > 0 || this.system;
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.disposed) return;
    this.timer = this.clock.setTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush().catch((err: unknown) => {
      this.log?.warn('policy state save failed; will retry', { error: err instanceof Error ? err.message : String(err) });
      this.schedule(Math.max(this.debounceMs, RETRY_MS));
    });
  };

  /** Saves every dirty row now (behind a save in flight); resolves once they are durable. */
  flush(): Promise<void> {
    return this.saveSoon(this.clock.now());
  }

  /**
   * Saves now, like flush(), an admission whose rows are already marked (`now` is its admission
   * time, so the rows need no clock read); if that save fails, `admission.undoWrite()` runs before
   * the returned promise rejects.
   */
  writeAhead(now: number, admission: WrittenAhead): Promise<void> {
    this.admissions.push(admission);
    return this.saveSoon(now);
  }

  private saveSoon(now: number): Promise<void> {
    if (this.queued !== null) return this.queued;
    if (this.inflight !== null) {
      if (!this.dirty && this.admissions.length === 0) return this.inflight;
      this.queued = this.inflight.then(noop, noop).then(() => {
        this.queued = null;
        return this.saveNow(this.clock.now());
      });
      return this.queued;
    }
    return this.dirty ? this.saveNow(now) : RESOLVED;
  }

  private saveNow(now: number): Promise<void> {
    if (!this.dirty) return RESOLVED;
    // Swap the buffers: what was collected is now being saved; the emptied ones collect.
    const targets = this.targets;
    this.targets = this.savingTargets;
    this.savingTargets = targets;
    const platforms = this.platforms;
    this.platforms = this.savingPlatforms;
    this.savingPlatforms = platforms;
    const admissions = this.admissions;
    this.admissions = this.savingAdmissions;
    this.savingAdmissions = admissions;
    this.savingSystem = this.system;
    this.system = false;
    const changes: PolicyChanges = {
      targets: rowsOf(targets, now),
      deletedTargets: NO_DELETIONS,
      platforms: rowsOf(platforms, now),
      system: this.savingSystem ? this.systemRow() : null,
    };
    let save: Promise<void>;
    try {
      save = this.persistence.save(changes);
    } catch (err) {
      save = Promise.reject(err);
    }
    this.inflight = save;
    // Registered before any caller's continuation, so undo happens before callers see the failure.
    save.then(this.onSaved, this.onSaveFailed);
    return save;
  }

  private readonly onSaved = (): void => {
    this.inflight = null;
    clear(this.savingTargets);
    clear(this.savingPlatforms);
    clear(this.savingAdmissions);
    this.savingSystem = false;
  };

  private readonly onSaveFailed = (): void => {
    this.inflight = null;
    for (const entry of this.savingTargets) this.markTarget(entry);
    for (const entry of this.savingPlatforms) this.markPlatform(entry);
    if (this.savingSystem) this.markSystem();
    const admissions = [...this.savingAdmissions];
    this.onSaved();
    for (const admission of admissions) admission.undoWrite();
  };

  /** Stops the debounce timer; pending changes stay unsaved unless flushed first. */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
