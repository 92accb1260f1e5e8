import { ConductorError } from '../../../shared/errors.js';
import { accountKey, targetKey } from '../../../shared/platforms.js';
import { applyAdmission, type PolicyAdmission, type PolicyChanges } from '../../../shared/policy-state.js';
import type { Logger } from '../api/context.js';
import { guarded, inTransaction, type Sqlite } from './db.js';

/** One page of `policy.load`: the stored entries, raw (the engine validates), and where to go on. */
export interface PolicyPage {
  targets: unknown[];
  accounts: unknown[];
  system: unknown;
  nextCursor: string | null;
}

type RowKind = 'account' | 'system' | 'target';

interface Row {
  kind: RowKind;
  key: string;
  value: string;
}

const SYSTEM_KEY = 'system';
const CURSOR_SEPARATOR = '|';

/**
 * The policy engine's persisted state as keyed rows of browser_request_policy_state: one per
 * target, one per account (platform/container), one for the system switches. A save writes only
 * the rows it names. Rows keep the version their writer gave them; the engine migrates older ones.
 */
export class PolicyStore {
  private readonly upsert;
  private readonly remove;
  private readonly valueOf;
  private readonly pageFrom;

  constructor(
    private readonly sqlite: Sqlite,
    private readonly log: Logger,
  ) {
    this.upsert = sqlite.prepare<[RowKind, string, string, number]>(
      `INSERT INTO browser_request_policy_state (kind, key, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.remove = sqlite.prepare<[RowKind, string]>('DELETE FROM browser_request_policy_state WHERE kind = ? AND key = ?');
    this.valueOf = sqlite.prepare<[RowKind, string], { value: string }>('SELECT value FROM browser_request_policy_state WHERE kind = ? AND key = ?');
    this.pageFrom = sqlite.prepare<[string, string, number], Row>(
      'SELECT kind, key, value FROM browser_request_policy_state WHERE (kind, key) > (?, ?) ORDER BY kind, key LIMIT ?',
    );
  }

  /** Applies one incremental save in a single transaction; nothing of it is kept if any part fails. */
  save(changes: PolicyChanges, now: number): void {
    inTransaction(this.sqlite, 'save the policy state', () => {
      for (const target of changes.targets) this.upsert.run('target', targetKey(target), JSON.stringify(target), now);
      for (const key of changes.deletedTargets) this.remove.run('target', targetKey(key));
      for (const account of changes.accounts) this.upsert.run('account', accountKey(account), JSON.stringify(account), now);
      if (changes.system !== null) this.upsert.run('system', SYSTEM_KEY, JSON.stringify(changes.system), now);
    });
  }

  /**
   * Applies one written-ahead dispatch to its target and account rows in a single transaction
   * (see applyAdmission); a stored row that is not JSON or fails its schema is warned about and replaced.
   */
  admit(admission: PolicyAdmission, now: number): void {
    inTransaction(this.sqlite, 'write the admission ahead', () => {
      const key = targetKey(admission);
      const accountRow = accountKey(admission);
      const { target, account } = applyAdmission(this.stored('target', key), this.stored('account', accountRow), admission);
      this.upsert.run('target', key, JSON.stringify(target), now);
      this.upsert.run('account', accountRow, JSON.stringify(account), now);
    });
  }

  /** One stored row's value, parsed; undefined when absent or not JSON (warned about). */
  private stored(kind: RowKind, key: string): unknown {
    const row = this.valueOf.get(kind, key);
    return row === undefined ? undefined : this.parse({ kind, key, value: row.value });
  }

  /**
   * Reads up to `limit` rows after `cursor` whose serialized size stays within `maxBytes`, so the
   * reply fits one native message. A row that is not JSON, or alone exceeds the budget, is skipped
   * with a warning: the engine rebuilds that entry from defaults rather than the host failing the load.
   */
  loadPage(cursor: string | null, limit: number, maxBytes: number): PolicyPage {
    const [fromKind, fromKey] = cursor === null ? ['', ''] : parseCursor(cursor);
    const page: PolicyPage = { targets: [], accounts: [], system: null, nextCursor: null };
    let used = 0;
    let taken = 0;
    // One row more than the limit tells whether a next page exists.
    const rows = guarded('load the policy state', () => this.pageFrom.all(fromKind, fromKey, limit + 1));
    for (const [index, row] of rows.entries()) {
      if (taken === limit) return { ...page, nextCursor: cursorOf(rows[index - 1] as Row) };
      const value = this.parse(row);
      const size = value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value)) + 1;
      // A row that fits alone but not beside the rows already taken (so index >= 1) starts the next page.
      if (size <= maxBytes && used + size > maxBytes) return { ...page, nextCursor: cursorOf(rows[index - 1] as Row) };
      taken += 1;
      if (value === undefined) continue;
      if (size > maxBytes) {
        this.log.warn('policy state row too large to send; skipped', { kind: row.kind, key: row.key, bytes: size });
        continue;
      }
      used += size;
      if (row.kind === 'target') page.targets.push(value);
      else if (row.kind === 'account') page.accounts.push(value);
      else page.system = value;
    }
    return page;
  }

  private parse(row: Row): unknown {
    try {
      return JSON.parse(row.value) as unknown;
    } catch {
      this.log.warn('corrupt policy state row (not JSON); skipped', { kind: row.kind, key: row.key });
      return undefined;
    }
  }
}

function cursorOf(row: Row): string {
  return `${row.kind}${CURSOR_SEPARATOR}${row.key}`;
}

function parseCursor(cursor: string): [string, string] {
  const at = cursor.indexOf(CURSOR_SEPARATOR);
  if (at < 0) throw new ConductorError('bad_payload', 'policy.load cursor is not one this host handed out', { field: 'cursor' });
  return [cursor.slice(0, at), cursor.slice(at + 1)];
}
