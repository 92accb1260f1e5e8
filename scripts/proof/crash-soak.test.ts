import { beforeEach, describe, expect, it } from 'vitest';
import { openArtifactDb, type ArtifactDb } from '../../native-host/src/store/db.js';
import { JournalStore } from '../../native-host/src/store/journal-store.js';
import { PolicyStore } from '../../native-host/src/store/policy-store.js';
import { MemoryLogger } from '../../test/api/fakes.js';
import { journalEntry, persistedTarget } from '../../test/host/fixtures.js';
import { useTempDirs } from '../../test/host/temp-store.js';
import { verify, type Acked, type Tally } from './crash-soak.js';

const tempDir = useTempDirs('soak');
let dir: string;
let db: ArtifactDb;
beforeEach(() => {
  dir = tempDir();
  db = openArtifactDb(dir);
  return () => db.close();
});

const zero = (): Tally => ({ kills: 0, corrupt: 0, lostJournalRows: 0, lostAdmissions: 0, lostSaves: 0, doubleRuns: 0, ackedRequests: 0, ackedSaves: 0 });

/** A DB holding request r1 finished, r2 admitted, both written ahead on platform p, and save 3. */
function seed(): Acked {
  new JournalStore(db.sqlite).record([journalEntry('r1', { platform: 'p', outcome: 'success' }), journalEntry('r2', { platform: 'p', outcome: 'interrupted' })]);
  const policy = new PolicyStore(db.sqlite, new MemoryLogger());
  policy.admit({ platform: 'p', clientId: 'c', container: 'firefox-default', requestId: 'r1', admittedAt: 10, probe: false }, 10);
  policy.admit({ platform: 'p', clientId: 'c', container: 'firefox-default', requestId: 'r2', admittedAt: 11, probe: false }, 11);
  policy.save({ targets: [persistedTarget('soak-saves', 'soak-saver', { staleSweepCount: 3 })], deletedTargets: [], accounts: [], system: { version: 2, paused: false, pauseReason: 'save 3', pausedAt: 1, updatedAt: 1 } }, 12);
  return {
    journal: new Map([
      ['r1', 'success'],
      ['r2', 'admitted'],
    ]),
    admissions: new Map([
      ['r1', { platform: 'p', clientId: 'c', admittedAt: 10 }],
      ['r2', { platform: 'p', clientId: 'c', admittedAt: 11 }],
    ]),
    savesAcked: 3,
    savesSent: 4,
  };
}

describe('the crash soak verification', () => {
  it('finds nothing wrong in a DB that holds everything acknowledged', () => {
    const acked = seed();
    const tally = zero();
    verify(dir, acked, tally);
    expect(tally).toEqual(zero());
  });

  it('counts an acknowledged row, admission or save that is missing, and a row left admitted', () => {
    const acked = seed();
    acked.journal.set('r3', 'admitted');
    acked.journal.set('r2', 'success');
    acked.admissions.set('r3', { platform: 'p', clientId: 'c', admittedAt: 12 });
    acked.savesAcked = 4;
    new JournalStore(db.sqlite).record([journalEntry('r4', { platform: 'p', outcome: 'admitted' })]);
    const tally = zero();
    verify(dir, acked, tally);
    expect(tally).toMatchObject({ lostJournalRows: 2, lostAdmissions: 1, lostSaves: 2, doubleRuns: 1, corrupt: 0 });
  });
});
