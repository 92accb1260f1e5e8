// Check 1, crash soak: the real built host under a steady load of admissions, journal writes and
// policy saves over its framed stdio, SIGKILLed at random moments and restarted. After every
// restart the DB passes integrity_check, every acknowledged write is there, and nothing would run twice.
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { join } from 'node:path';
import type { JournalEntry } from '../../shared/journal.js';
import { accountKey, DEFAULT_CONTAINER } from '../../shared/platforms.js';
import { POLICY_STATE_VERSION, type PersistedAccount, type PersistedSystem, type PersistedTarget } from '../../shared/policy-state.js';
import { persistedTarget } from '../../test/host/fixtures.js';
import { startHost, type HostHandle } from '../../test/helpers/host-process.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';

/** Concurrent request pipelines per round, as several tabs' requests would be. */
const WORKERS = 3;
/** Requests per pipeline and round: one target's in-flight list keeps its last 64, so all of a round's stay checkable. */
const MAX_REQUESTS_PER_WORKER = 60;
/** The kill lands this long after the restarted host said hello, drawn uniformly. */
const KILL_AFTER_MS = { min: 5, max: 400 };
const SAVE_CLIENT = 'soak-saver';
const SAVE_PLATFORM = 'soak-saves';

/** What the host acknowledged, i.e. what must survive any later kill. */
export interface Acked {
  /** requestId → the last outcome the host acknowledged for its journal row. */
  journal: Map<string, 'admitted' | 'success'>;
  /** requestId → its admission (platform, target and the unique admittedAt that marks it in the window). */
  admissions: Map<string, { platform: string; clientId: string; admittedAt: number }>;
  /** The highest save sequence acknowledged, and the highest sent (a sent one may have committed before the kill). */
  savesAcked: number;
  savesSent: number;
}

/** What the soak counts. */
export interface Tally {
  kills: number;
  corrupt: number;
  lostJournalRows: number;
  lostAdmissions: number;
  lostSaves: number;
  doubleRuns: number;
  ackedRequests: number;
  ackedSaves: number;
}

export const crashSoakCheck: ProofCheck = {
  name: 'crash soak',
  async run(ctx: ProofContext): Promise<ProofResult> {
    const kills = ctx.full ? 200 : 30;
    const seed = Date.now() >>> 0;
    // Drawn up front from the seed, so a run can be replayed from the seed it reports.
    const killAfterMs = fc.sample(fc.integer(KILL_AFTER_MS), { numRuns: kills, seed });
    const dataDir = join(ctx.scratch, 'data');
    const acked: Acked = { journal: new Map(), admissions: new Map(), savesAcked: 0, savesSent: 0 };
    const tally: Tally = { kills: 0, corrupt: 0, lostJournalRows: 0, lostAdmissions: 0, lostSaves: 0, doubleRuns: 0, ackedRequests: 0, ackedSaves: 0 };
    let clock = Date.now();
    for (let round = 0; round <= kills; round++) {
      const host = startHost({ dataDir });
      try {
        await host.hello();
        verify(dataDir, acked, tally);
        if (round === kills) break;
        const stop = { stopped: false };
        const load = [
          ...Array.from({ length: WORKERS }, (_, w) => requests(host, round, w, () => ++clock, acked, stop)),
          saves(host, () => ++clock, acked, stop),
        ];
        await sleep(killAfterMs[round] as number);
        host.kill('SIGKILL');
        stop.stopped = true;
        await host.exited;
        await Promise.all(load);
        tally.kills += 1;
        if (tally.kills % 10 === 0) ctx.log(`${tally.kills}/${kills} kills, ${acked.journal.size} acknowledged requests so far`);
      } finally {
        await host.dispose();
      }
    }
    tally.ackedRequests = acked.journal.size;
    tally.ackedSaves = acked.savesAcked;
    const ok = tally.kills === kills && tally.corrupt + tally.lostJournalRows + tally.lostAdmissions + tally.lostSaves + tally.doubleRuns === 0;
    return {
      ok,
      line: `crash soak: ${tally.kills} kills, ${tally.corrupt} corrupt, ${tally.lostAdmissions} lost admissions, ${tally.lostJournalRows} lost journal rows, ${tally.lostSaves} lost saves, ${tally.doubleRuns} double runs (${tally.ackedRequests} acknowledged requests, ${tally.ackedSaves} saves)`,
      figures: { ...tally, seed },
    };
  },
};

/** One pipeline of requests as the add-on runs them: journal row written ahead, admission written ahead, then the outcome. */
async function requests(host: HostHandle, round: number, worker: number, tick: () => number, acked: Acked, stop: { stopped: boolean }): Promise<void> {
  const platform = `soak-r${round}`;
  const clientId = `worker-${worker}`;
  for (let i = 0; i < MAX_REQUESTS_PER_WORKER && !stop.stopped; i++) {
    const requestId = `r${round}-w${worker}-${i}`;
    const admittedAt = tick();
    const row: JournalEntry = {
      requestId,
      clientId,
      platform,
      method: 'POST',
      path: '/api/chat',
      outcome: 'admitted',
      createdAt: admittedAt,
      admittedAt,
      finishedAt: null,
      httpStatus: null,
      errorCode: null,
      admission: { admittedAt, queueDelayMs: 0, backoffDelayMs: 0, rateLimitDelayMs: 0, jitterDelayMs: 0, probe: false },
    };
    try {
      await host.request('journal.record', { entries: [row] });
      acked.journal.set(requestId, 'admitted');
      await host.request('policy.admit', { platform, clientId, container: DEFAULT_CONTAINER, requestId, admittedAt, probe: false });
      acked.admissions.set(requestId, { platform, clientId, admittedAt });
      await host.request('journal.record', { entries: [{ ...row, outcome: 'success', finishedAt: tick(), httpStatus: 200 }] });
      acked.journal.set(requestId, 'success');
    } catch {
      return; // the host was killed: whatever was not acknowledged may or may not be there
    }
  }
}

/** Debounced policy saves as the engine sends them: a target row and the system row, numbered. */
async function saves(host: HostHandle, tick: () => number, acked: Acked, stop: { stopped: boolean }): Promise<void> {
  while (!stop.stopped) {
    const sequence = ++acked.savesSent;
    const at = tick();
    const target: PersistedTarget = persistedTarget(SAVE_PLATFORM, SAVE_CLIENT, { staleSweepCount: sequence, updatedAt: at });
    const system: PersistedSystem = { version: POLICY_STATE_VERSION, paused: sequence % 2 === 0, pauseReason: `save ${sequence}`, pausedAt: at, updatedAt: at };
    try {
      await host.request('policy.save', { targets: [target], deletedTargets: [], accounts: [], system });
      acked.savesAcked = Math.max(acked.savesAcked, sequence);
    } catch {
      return;
    }
    await sleep(5);
  }
}

/**
 * Reads the DB beside the restarted host (WAL lets a reader in) and counts what went wrong:
 * integrity, acknowledged rows missing, and anything that would run again.
 */
export function verify(dataDir: string, acked: Acked, tally: Tally): void {
  const db = new Database(join(dataDir, 'artifact.db'), { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') tally.corrupt += 1;
    const outcomes = new Map(db.prepare<[], { request_id: string; outcome: string }>('SELECT request_id, outcome FROM request_journal').all().map((r) => [r.request_id, r.outcome]));
    for (const [requestId, outcome] of acked.journal) {
      const stored = outcomes.get(requestId);
      // An acknowledged `success` must stay success; an acknowledged `admitted` may have finished before the kill.
      if (stored === undefined || (outcome === 'success' && stored !== 'success')) tally.lostJournalRows += 1;
    }
    // Recovery must have closed every row left `admitted`: one still open would be dispatched again.
    tally.doubleRuns += [...outcomes.values()].filter((o) => o === 'admitted').length;

    const rows = db.prepare<[], { kind: string; key: string; value: string }>('SELECT kind, key, value FROM browser_request_policy_state').all();
    const accounts = new Map<string, PersistedAccount>();
    const targets = new Map<string, PersistedTarget>();
    let system: PersistedSystem | null = null;
    for (const row of rows) {
      const value = JSON.parse(row.value) as unknown;
      if (row.kind === 'account') accounts.set(row.key, value as PersistedAccount);
      else if (row.kind === 'target') targets.set(row.key, value as PersistedTarget);
      else system = value as PersistedSystem;
    }
    for (const [requestId, a] of acked.admissions) {
      const window = accounts.get(accountKey({ platform: a.platform, container: DEFAULT_CONTAINER }))?.dispatches ?? [];
      const inFlight = [...targets.values()].find((t) => t.platform === a.platform && t.clientId === a.clientId)?.inFlight ?? [];
      if (!window.includes(a.admittedAt) || !inFlight.some((l) => l.requestId === requestId)) tally.lostAdmissions += 1;
    }
    // One dispatch counted twice in a window, or one lease twice in flight, is a request run twice.
    for (const account of accounts.values()) tally.doubleRuns += account.dispatches.length - new Set(account.dispatches).size;
    for (const target of targets.values()) tally.doubleRuns += target.inFlight.length - new Set(target.inFlight.map((l) => l.requestId)).size;

    if (acked.savesAcked > 0) {
      const saved = [...targets.values()].find((t) => t.platform === SAVE_PLATFORM)?.staleSweepCount ?? 0;
      const systemSaved = Number((system as PersistedSystem | null)?.pauseReason?.replace('save ', '') ?? 0);
      // The stored save is the last acknowledged one or a later one that committed before the kill.
      for (const n of [saved, systemSaved]) if (n < acked.savesAcked || n > acked.savesSent) tally.lostSaves += 1;
    }
  } finally {
    db.close();
  }
}
