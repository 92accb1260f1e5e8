import type { JournalEntry } from '../../shared/journal.js';
import { DEFAULT_CONTAINER } from '../../shared/platforms.js';
import type { PersistedAccount, PersistedTarget } from '../../shared/policy-state.js';
import { storedAccount, storedTarget } from '../../extension/src/policy/test-persistence.js';

/** A valid persisted target of one client on one platform (the engine's fresh defaults), with the given fields changed. */
export function persistedTarget(platform: string, clientId: string, overrides: Partial<PersistedTarget> = {}): PersistedTarget {
  return storedTarget({ platform, clientId, ...overrides });
}

/** A valid persisted account (the platform's default container unless named) whose window holds the given dispatch times. */
export function persistedAccount(platform: string, dispatches: number[] = [], container = DEFAULT_CONTAINER): PersistedAccount {
  return storedAccount({ platform, container, dispatches, lastDispatchAt: dispatches.at(-1) ?? null });
}

/** A journal row as the add-on writes it ahead of a dispatch (`admitted`), with the given fields changed. */
export function journalEntry(requestId: string, overrides: Partial<JournalEntry> = {}): JournalEntry {
  return {
    requestId,
    clientId: 'agent-1',
    platform: 'claude',
    method: 'POST',
    path: '/api/chat',
    outcome: 'admitted',
    createdAt: 1_000,
    admittedAt: 1_010,
    finishedAt: null,
    httpStatus: null,
    errorCode: null,
    admission: { admittedAt: 1_010, queueDelayMs: 3, backoffDelayMs: 0, rateLimitDelayMs: 7.5, jitterDelayMs: 0.25, probe: false },
    ...overrides,
  };
}

/** One page of policy.load, as the store hands it out and the host sends it. */
interface PolicyPageLike {
  targets: unknown[];
  accounts: unknown[];
  system: unknown;
  nextCursor: string | null;
}

/** Everything a paged policy load returns, gathered by following nextCursor to the end. */
export async function loadAllPages(
  loadPage: (cursor: string | null) => PolicyPageLike | Promise<PolicyPageLike>,
): Promise<{ targets: unknown[]; accounts: unknown[]; system: unknown; pages: number }> {
  const all = { targets: [] as unknown[], accounts: [] as unknown[], system: null as unknown, pages: 0 };
  let cursor: string | null = null;
  do {
    const page: PolicyPageLike = await loadPage(cursor);
    all.targets.push(...page.targets);
    all.accounts.push(...page.accounts);
    if (page.system !== null) all.system = page.system;
    all.pages += 1;
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}
