// Policy engine benchmark: admission overhead against cockatiel and opossum composed for the same
// job, and the cost of persisting one changed target, incremental rows against a whole-state blob.
import Database from 'better-sqlite3';
import { bulkhead, circuitBreaker, ConsecutiveBreaker, handleAll, wrap } from 'cockatiel';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PolicyEngine } from '../extension/src/policy/engine.js';
import type { PolicyClock } from '../extension/src/policy/types.js';
import { accountKey, targetKey, type Target } from '../shared/platforms.js';
import { freshFields, POLICY_STATE_VERSION, type LoadedPolicyState, type PersistedTarget, type PolicyChanges, type PolicyPersistence } from '../shared/policy-state.js';
import type { BenchSuite } from './run.js';
import { median, round } from './stats.js';

const require = createRequire(import.meta.url);

/** The slice of opossum 10's API used here (it ships no types). */
interface OpossumBreaker {
  fire(): Promise<unknown>;
  shutdown(): void;
}
type OpossumCtor = new (action: () => Promise<unknown>, options: Record<string, unknown>) => OpossumBreaker;
const CircuitBreaker = require('opossum') as OpossumCtor;

const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

const T: Target = { clientId: 'bench', platform: 'claude' };
const SUCCESS = { status: 'success' } as const;
const RESOLVED: Promise<void> = Promise.resolve();
const ROUNDS = 7;
const CALLS = 200_000;


/** The process's real clock and timers. */
function realClock(wall: () => number = Date.now): PolicyClock {
  return {
    now: wall,
    monotonic: () => performance.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    random: Math.random,
  };
}

/** Times `calls` sequential calls of `op`; µs per call. */
async function timeCalls(op: () => Promise<void>, calls: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) await op();
  return ((performance.now() - start) * 1000) / calls;
}

/**
 * A reference, not a policy: the least any promise-returning admission of a target can do. One
 * target lookup, the window's prune, check and push, a lease object, and on complete a success
 * recorded. No validation, duplicate check, circuit, backoff, persistence or notification: how
 * close to it the engine gets shows what the policy itself costs.
 */
function bareReference(now: () => number, windowMs: number): (target: Target, requestId: string) => Promise<{ complete(): void }> {
  interface State {
    times: number[];
    head: number;
    leases: object[];
    lastSuccessAt: number;
  }
  const byPlatform = new Map<string, Map<string, State>>([[T.platform, new Map([[T.clientId, { times: [], head: 0, leases: [], lastSuccessAt: 0 }]])]]);
  class BareLease {
    constructor(
      readonly requestId: string,
      readonly admittedAt: number,
      private readonly state: State,
    ) {}
    complete(): void {
      this.state.leases.pop();
      this.state.lastSuccessAt = now();
    }
  }
  return (target, requestId) => {
    const st = byPlatform.get(target.platform)?.get(target.clientId) as State;
    const at = now();
    while (st.head < st.times.length && (st.times[st.head] as number) <= at - windowMs) st.head++;
    if (st.head > 32) {
      st.times = st.times.slice(st.head);
      st.head = 0;
    }
    if (st.times.length - st.head >= 600) return Promise.reject(new Error('rate limited'));
    st.times.push(at);
    const lease = new BareLease(requestId, at, st);
    st.leases.push(lease);
    return Promise.resolve(lease);
  };
}

/**
 * Admission overhead: begin + complete with every limit lifted and nothing to wait for, against
 * cockatiel (bulkhead of 1 wrapping a consecutive-failure breaker) and opossum (breaker with
 * capacity 1), each admitting and settling a no-op. Rounds alternate; the median round counts.
 */
async function admission(): Promise<Record<string, number>> {
  // The wall clock steps one window per reading, so every admission finds an empty window: the
  // rate limit is lifted (its schema caps it at 600 per window) without changing the code path.
  let wall = Date.now();
  const windowMs = 1_000;
  const clock = realClock(() => (wall += windowMs));
  const noop: PolicyPersistence = { load: async () => ({ targets: [], system: null }), save: () => RESOLVED, admit: () => {} };
  const engine = new PolicyEngine({
    config: {
      rateLimit: { requestsPerMinutePerPlatform: 600, windowMs, minSpacingMs: 0 },
      jitter: { muMs: 0, sigmaMs: 0, minMs: 0, maxMs: 0 },
    },
    persistence: noop,
    clock,
  });
  await engine.initialize();
  const ids = Array.from({ length: 1024 }, (_, i) => `r${i}`);
  let n = 0;
  const ours = async (): Promise<void> => {
    const lease = await engine.beginRequest(T, ids[n++ & 1023] as string);
    lease.complete(SUCCESS);
  };

  const cockatiel = wrap(bulkhead(1, 0), circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(3) }));
  const work = (): number => 1;
  const peerCockatiel = async (): Promise<void> => {
    await cockatiel.execute(work);
  };
  // timeout off (no per-call timer, like ours) and percentiles off: opossum at its fastest.
  const opossum = new CircuitBreaker(async () => 1, { timeout: false, capacity: 1, resetTimeout: 60_000, rollingPercentilesEnabled: false });
  const peerOpossum = async (): Promise<void> => {
    await opossum.fire();
  };

  // The floor of any promise-returning admission: the caller's one await, no policy at all.
  const leaseStub = { complete: (): void => {} };
  const floor = async (): Promise<void> => {
    (await Promise.resolve(leaseStub)).complete();
  };

  const bare = bareReference(clock.now, windowMs);
  const reference = async (): Promise<void> => {
    (await bare(T, ids[n++ & 1023] as string)).complete();
  };

  const contenders = { ours, cockatiel: peerCockatiel, opossum: peerOpossum, floor, reference };
  const times: Record<keyof typeof contenders, number[]> = { ours: [], cockatiel: [], opossum: [], floor: [], reference: [] };
  for (const op of Object.values(contenders)) await timeCalls(op, CALLS / 4);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, op] of Object.entries(contenders)) times[name as keyof typeof contenders].push(await timeCalls(op, CALLS));
  }
  engine.dispose();
  opossum.shutdown();
  const us = { ours: median(times.ours), cockatiel: median(times.cockatiel), opossum: median(times.opossum), floor: median(times.floor), reference: median(times.reference) };
  return {
    policy_admission_us: round(us.ours),
    admission_floor_one_await_us: round(us.floor),
    admission_bare_reference_us: round(us.reference),
    admission_bare_reference_speedup_vs_best_peer: round(Math.min(us.cockatiel, us.opossum) / us.reference, 2),
    cockatiel_admission_us: round(us.cockatiel),
    opossum_admission_us: round(us.opossum),
    admission_speedup_vs_cockatiel: round(us.cockatiel / us.ours, 2),
    admission_speedup_vs_opossum: round(us.opossum / us.ours, 2),
    admission_speedup_vs_best_peer: round(Math.min(us.cockatiel, us.opossum) / us.ours, 2),
  };
}

/** A stored target row that failed lately, as a real DB would hold after a bad hour. */
function seedRow(i: number, now: number): PersistedTarget {
  return {
    version: POLICY_STATE_VERSION,
    clientId: `client-${i}`,
    platform: 'claude',
    ...freshFields(),
    lastError: { code: 'upstream_429', message: 'The platform itself rate-limited the request; backoff honours its Retry-After.', at: now },
    lastSuccessAt: now - 3_600_000,
    lastFailureAt: now,
    inFlight: [],
    updatedAt: now,
  };
}

/** A SQLite file in WAL mode (synchronous=NORMAL, as a host DB runs) in a fresh temp dir. */
function openDb(dir: string, name: string): Database.Database {
  const db = new Database(join(dir, name));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

/** Incremental persistence: one keyed row per target / account, upserting only the changed ones. */
function rowsPersistence(db: Database.Database, seed: PersistedTarget[]): PolicyPersistence {
  db.exec(`CREATE TABLE policy_targets (key TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID;
           CREATE TABLE policy_accounts (key TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID;
           CREATE TABLE policy_system (id INTEGER PRIMARY KEY CHECK (id = 1), row TEXT NOT NULL);`);
  const upsertTarget = db.prepare('INSERT INTO policy_targets (key, row) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET row = excluded.row');
  const upsertAccount = db.prepare('INSERT INTO policy_accounts (key, row) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET row = excluded.row');
  const upsertSystem = db.prepare('INSERT INTO policy_system (id, row) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET row = excluded.row');
  const write = db.transaction((changes: PolicyChanges) => {
    for (const t of changes.targets) upsertTarget.run(targetKey(t), JSON.stringify(t));
    for (const a of changes.accounts) upsertAccount.run(accountKey(a), JSON.stringify(a));
    if (changes.system !== null) upsertSystem.run(JSON.stringify(changes.system));
  });
  write({ targets: seed, deletedTargets: [], accounts: [], system: null });
  return {
    load: async () => ({
      targets: db.prepare('SELECT row FROM policy_targets').all().map((r) => JSON.parse((r as { row: string }).row) as unknown),
      accounts: db.prepare('SELECT row FROM policy_accounts').all().map((r) => JSON.parse((r as { row: string }).row) as unknown),
      system: null,
    }),
    save: (changes) => {
      write(changes);
      return RESOLVED;
    },
    // The save benchmark admits nothing.
    admit: () => {},
  };
}

/** The baseline: the whole state as one JSON blob, rewritten on every save. */
function blobPersistence(db: Database.Database, seed: PersistedTarget[], state: () => LoadedPolicyState): PolicyPersistence {
  db.exec('CREATE TABLE policy_state (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)');
  const upsert = db.prepare('INSERT INTO policy_state (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state');
  upsert.run(JSON.stringify({ targets: seed, accounts: [], system: null }));
  return {
    load: async () => JSON.parse((db.prepare('SELECT state FROM policy_state').get() as { state: string }).state) as LoadedPolicyState,
    save: () => {
      upsert.run(JSON.stringify(state()));
      return RESOLVED;
    },
    admit: () => {},
  };
}

/** µs per save of one changed target (a manual reset, then flush) through a real engine over `persistence`. */
async function timeSaves(make: (engine: () => PolicyEngine) => PolicyPersistence, targets: number, saves: number): Promise<number> {
  let engine: PolicyEngine | null = null;
  const persistence = make(() => engine as PolicyEngine);
  engine = new PolicyEngine({ persistence, clock: realClock() });
  await engine.initialize();
  const ids: Target[] = Array.from({ length: targets }, (_, i) => ({ clientId: `client-${i}`, platform: 'claude' }));
  const start = performance.now();
  for (let k = 0; k < saves; k++) {
    engine.resetTarget(ids[k % targets] as Target);
    await engine.flush();
  }
  const us = ((performance.now() - start) * 1000) / saves;
  engine.dispose();
  return us;
}

/** Persistence cost of one changed target among 10 / 1 000 / 10 000, incremental against whole-state. */
async function persistence(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const targets of [10, 1_000, 10_000]) {
    const dir = mkdtempSync(join(tmpdir(), 'cfx-bench-policy-'));
    try {
      const now = Date.now();
      const seed = Array.from({ length: targets }, (_, i) => seedRow(i, now));
      const rowsDb = openDb(dir, 'rows.db');
      const blobDb = openDb(dir, 'blob.db');
      const incremental = await timeSaves(() => rowsPersistence(rowsDb, seed), targets, 2_000);
      const whole = await timeSaves((engine) => blobPersistence(blobDb, seed, () => engine().exportState()), targets, targets >= 10_000 ? 20 : 200);
      rowsDb.close();
      blobDb.close();
      out[`policy_save_incremental_us_at_${targets}_targets`] = round(incremental, 1);
      out[`policy_save_whole_state_us_at_${targets}_targets`] = round(whole, 1);
      out[`save_speedup_at_${targets}_targets`] = round(whole / incremental, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

export const run: BenchSuite = async () => ({
  cockatiel_version: versionOf('cockatiel'),
  opossum_version: versionOf('opossum'),
  ...(await admission()),
  ...(await persistence()),
});
