import { describe, expect, it } from 'vitest';
import { storedAccount, storedTarget } from '../../../extension/src/policy/test-persistence.js';
import { journalEntry as entry } from '../../../test/host/fixtures.js';
import { useTempDirs } from '../../../test/host/temp-store.js';
import { openArtifactDb, type ArtifactDb } from './db.js';
import { JournalStore } from './journal-store.js';
import { PolicyStore } from './policy-store.js';

const tempDir = useTempDirs('store-faults');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A save big enough to need new pages: many targets with long client ids. */
const bigSave = (prefix: string) => ({
  targets: Array.from({ length: 200 }, (_, i) => storedTarget({ clientId: `${prefix}-${i}-${'x'.repeat(100)}` })),
  deletedTargets: [],
  accounts: [storedAccount({ dispatches: [1, 2, 3] })],
  system: null,
});

function stores(db: ArtifactDb): { policy: PolicyStore; journal: JournalStore } {
  return { policy: new PolicyStore(db.sqlite, quiet), journal: new JournalStore(db.sqlite) };
}

describe('the store when the disk fills up or the DB turns read-only', () => {
  it('refuses writes past a full disk with disk_full, keeps everything committed, and writes again once there is room', () => {
    const db = openArtifactDb(tempDir());
    try {
      const { policy, journal } = stores(db);
      policy.save(bigSave('before'), 10);
      journal.record([entry('r-before')]);
      // The DB may not grow past what it holds now: the same SQLITE_FULL a full disk gives.
      const pages = db.sqlite.pragma('page_count', { simple: true }) as number;
      db.sqlite.pragma(`max_page_count = ${pages}`);

      expect(() => policy.save(bigSave('during'), 20)).toThrow(expect.objectContaining({ code: 'disk_full', details: { sqlite_code: 'SQLITE_FULL' } }));
      expect(() => journal.record(Array.from({ length: 500 }, (_, i) => entry(`r-during-${i}-${'y'.repeat(100)}`)))).toThrow(expect.objectContaining({ code: 'disk_full' }));
      // Nothing of a refused write was kept, nothing committed was lost.
      const page = policy.loadPage(null, 1_000, 10_000_000);
      expect(page.targets).toHaveLength(200);
      expect(page.targets.every((t) => (t as { clientId: string }).clientId.startsWith('before-'))).toBe(true);
      expect(journal.get('r-before')?.outcome).toBe('admitted');
      expect(journal.get('r-during-0-' + 'y'.repeat(100))).toBeNull();

      db.sqlite.pragma('max_page_count = 1073741823');
      policy.save(bigSave('after'), 30);
      journal.record([entry('r-after')]);
      expect(policy.loadPage(null, 1_000, 10_000_000).targets).toHaveLength(400);
      expect(journal.get('r-after')?.outcome).toBe('admitted');
      expect(db.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });

  it('refuses writes to a read-only DB with a db_error that says so, keeps serving reads, and writes again once writable', () => {
    const db = openArtifactDb(tempDir());
    try {
      const { policy, journal } = stores(db);
      journal.record([entry('r-before')]);
      policy.admit({ clientId: 'agent', platform: 'claude', container: 'firefox-default', requestId: 'r-before', admittedAt: 5, probe: false }, 5);
      db.sqlite.pragma('query_only = ON');

      const refused = expect.objectContaining({ code: 'db_error', message: expect.stringContaining('is read-only'), details: { sqlite_code: 'SQLITE_READONLY' } });
      expect(() => journal.record([entry('r-during')])).toThrow(refused);
      expect(() => policy.admit({ clientId: 'agent', platform: 'claude', container: 'firefox-default', requestId: 'r-during', admittedAt: 6, probe: false }, 6)).toThrow(refused);
      expect(journal.get('r-before')?.outcome).toBe('admitted');
      expect(policy.loadPage(null, 10, 1_000_000).accounts).toEqual([expect.objectContaining({ container: 'firefox-default', dispatches: [5] })]);

      db.sqlite.pragma('query_only = OFF');
      journal.record([entry('r-after')]);
      expect(journal.get('r-after')).not.toBeNull();
    } finally {
      db.close();
    }
  });
});
