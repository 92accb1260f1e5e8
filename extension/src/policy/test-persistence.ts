import {
  admissionOf,
  applyAdmission,
  freshAccount,
  freshFields,
  POLICY_STATE_VERSION,
  type AdmittedLease,
  type LoadedPolicyState,
  type PersistedAccount,
  type PersistedTarget,
  type PolicyAdmission,
  type PolicyChanges,
  type PolicyPersistence,
} from '../../../shared/policy-state.js';
import { accountKey, DEFAULT_CONTAINER, targetKey } from '../../../shared/platforms.js';

/** The rows a MemoryPersistence holds; shared by re-opened copies, like a file on disk. */
export interface MemoryRows {
  targets: Map<string, unknown>;
  accounts: Map<string, unknown>;
  /** Version-1 platform rows (as an older add-on left them). */
  platforms: Map<string, unknown>;
  system: { value: unknown };
}

/**
 * An in-memory PolicyPersistence for tests: keyed rows in Maps, every save recorded (deep-copied,
 * so later engine changes cannot leak into it), raw rows injectable (to store corrupt entries),
 * and `reopen()` to simulate a restart over the same rows.
 */
export class MemoryPersistence implements PolicyPersistence {
  readonly saves: PolicyChanges[] = [];
  readonly admits: PolicyAdmission[] = [];
  /** When set, save() rejects with it and admit() is lost (the rows stay as they were). */
  failWith: Error | null = null;

  constructor(readonly rows: MemoryRows = { targets: new Map(), accounts: new Map(), platforms: new Map(), system: { value: null } }) {}

  async load(): Promise<LoadedPolicyState> {
    return structuredClone({ targets: [...this.rows.targets.values()], accounts: [...this.rows.accounts.values()], platforms: [...this.rows.platforms.values()], system: this.rows.system.value ?? null });
  }

  async save(changes: PolicyChanges): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    const copy = structuredClone(changes);
    this.saves.push(copy);
    for (const t of copy.targets) this.rows.targets.set(targetKey(t), t);
    for (const t of copy.deletedTargets) this.rows.targets.delete(targetKey(t));
    for (const a of copy.accounts) this.rows.accounts.set(accountKey(a), a);
    if (copy.system !== null) this.rows.system.value = copy.system;
  }

  /** Applies a write-ahead admission to the rows, as the host's PolicyStore does. */
  admit(lease: AdmittedLease): void {
    if (this.failWith !== null) return;
    const a = admissionOf(lease);
    this.admits.push(a);
    const key = targetKey(a);
    const { target, account } = applyAdmission(this.rows.targets.get(key), this.rows.accounts.get(accountKey(a)), a);
    this.rows.targets.set(key, target);
    this.rows.accounts.set(accountKey(a), account);
  }

  /** Stores a raw entry as is (e.g. corrupt) under `key`. */
  putRaw(kind: 'targets' | 'accounts' | 'platforms', key: string, value: unknown): void {
    this.rows[kind].set(key, value);
  }

  /** The same rows seen by a new process. */
  reopen(): MemoryPersistence {
    return new MemoryPersistence(this.rows);
  }
}

/** A valid stored target row (defaults of a fresh target) with `over` applied. */
export function storedTarget(over: Partial<PersistedTarget> = {}): PersistedTarget {
  return { version: POLICY_STATE_VERSION, clientId: 'agent', platform: 'claude', ...freshFields(), inFlight: [], updatedAt: 0, ...over };
}

/** A valid stored account row (claude, default container) with `over` applied. */
export function storedAccount(over: Partial<PersistedAccount> = {}): PersistedAccount {
  return { ...freshAccount({ platform: 'claude', container: DEFAULT_CONTAINER }, 0), ...over };
}
