import { join } from 'node:path';
import { steadyClock } from '../../extension/src/background/steady-clock.js';
import { PolicyEngine } from '../../extension/src/policy/engine.js';
import { FakeClock } from '../../extension/src/policy/test-clock.js';
import type { Lease, PolicyClock } from '../../extension/src/policy/types.js';
import { MAX_HOST_TO_EXTENSION_BYTES } from '../../shared/messages.js';
import { isConductorError } from '../../shared/errors.js';
import type { PolicyConfigInput } from '../../shared/policy-config.js';
import type { AccountSnapshot } from '../../shared/status.js';
import { admissionOf, type AdmittedLease, type LoadedPolicyState, type PolicyChanges, type PolicyPersistence } from '../../shared/policy-state.js';
import { DEFAULT_CONTAINER, type Target } from '../../shared/platforms.js';
import { openArtifactDb, type ArtifactDb } from '../../native-host/src/store/db.js';
import { PolicyStore } from '../../native-host/src/store/policy-store.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';

/** How far the wall clock is moved, each way. */
const JUMP_MS = 60 * 60_000;
const OPEN_MS = 20 * 60_000;
const IDLE_MS = 5 * 60_000;
const SWEEP_MS = 30_000;
const WINDOW_LIMIT = 3;
/** How long the browser is away between the two runs of the restart. */
const RESTART_GAP_MS = 30_000;

const CONFIG: PolicyConfigInput = {
  rateLimit: { requestsPerMinutePerPlatform: WINDOW_LIMIT, windowMs: 30 * 60_000, minSpacingMs: 0 },
  jitter: { muMs: 0, sigmaMs: 0, minMs: 0, maxMs: 0 },
  circuitBreaker: { failureThreshold: 1, openMs: OPEN_MS, maxOpenMs: 2 * OPEN_MS },
  staleLease: { idleTimeoutMs: IDLE_MS, sweepIntervalMs: SWEEP_MS },
  persistence: { debounceMs: 0 },
};

// Three accounts (each platform's default container), one per thing watched: a failure holds its
// whole account, so the full window cannot share the open circuit's account and still say rate_limited.
const CIRCUIT: Target = { platform: 'claude', clientId: 'jump-circuit' };
const WINDOW_PLATFORM = 'chatgpt';
const HELD: Target = { platform: 'gemini', clientId: 'jump-lease' };
const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The wall clock the machine shows: the fake clock's, moved by `offsetMs` (the injected jump). */
class JumpingWall {
  offsetMs = 0;
  constructor(readonly fake: FakeClock) {}
  readonly clock: PolicyClock = {
    now: () => this.fake.now() + this.offsetMs,
    monotonic: () => this.fake.monotonic(),
    setTimeout: (fn, ms) => this.fake.setTimeout(fn, ms),
    clearTimeout: (handle) => this.fake.clearTimeout(handle),
    random: () => this.fake.random(),
  };
}

/** The host's real policy store on a real SQLite file, as the engine's persistence (what the mirror ends in). */
class StorePersistence implements PolicyPersistence {
  constructor(
    private readonly store: PolicyStore,
    private readonly now: () => number,
  ) {}

  async load(): Promise<LoadedPolicyState> {
    const page = this.store.loadPage(null, 10_000, MAX_HOST_TO_EXTENSION_BYTES);
    return { targets: page.targets, accounts: page.accounts, system: page.system };
  }

  async save(changes: PolicyChanges): Promise<void> {
    this.store.save(changes, this.now());
  }

  admit(lease: AdmittedLease): void {
    this.store.admit(admissionOf(lease), this.now());
  }
}

/** One process of the add-on: an engine over the real store, on the given wall clock (steadied or raw). */
async function startEngine(dbDir: string, wall: JumpingWall, steady: boolean): Promise<{ engine: PolicyEngine; db: ArtifactDb }> {
  const db = openArtifactDb(dbDir);
  const clock = steady ? steadyClock(wall.clock) : wall.clock;
  const engine = new PolicyEngine({ config: CONFIG, persistence: new StorePersistence(new PolicyStore(db.sqlite, QUIET), wall.clock.now), clock });
  await engine.initialize();
  return { engine, db };
}

/** The code a request is refused with at once (null: admitted, and cancelled again): which stage holds it. */
async function refusal(engine: PolicyEngine, target: Target, requestId: string): Promise<string | null> {
  try {
    const lease = await engine.beginRequest(target, requestId, { maxWaitMs: 0 });
    lease.complete({ status: 'cancelled', code: 'cancelled' });
    return null;
  } catch (err) {
    if (isConductorError(err)) return err.code;
    throw err;
  }
}

/** Whether the circuit let a request past it (whatever a later stage then said). */
async function circuitPasses(engine: PolicyEngine, requestId: string): Promise<boolean> {
  const code = await refusal(engine, CIRCUIT, requestId);
  return code !== 'circuit_open' && code !== 'circuit_half_open_busy';
}

/** The default-container account of `platform` in the engine's snapshot. */
function account(engine: PolicyEngine, platform: string): { account: AccountSnapshot | undefined; generatedAt: number } {
  const snap = engine.getSnapshot();
  return { account: snap.accounts.find((a) => a.platform === platform && a.container === DEFAULT_CONTAINER), generatedAt: snap.generatedAt };
}

function circuitRemainingMs(engine: PolicyEngine): number {
  const { account: a, generatedAt } = account(engine, CIRCUIT.platform);
  return a?.circuitRetryAt == null ? 0 : a.circuitRetryAt - generatedAt;
}

function windowCount(engine: PolicyEngine): number {
  return account(engine, WINDOW_PLATFORM).account?.recentDispatchCount ?? 0;
}

/** What went wrong in one run of the story (all zero when the clock jumps changed nothing). */
interface JumpFindings {
  circuitReopenedEarly: number;
  windowEmptied: number;
  leaseReclaimedEarly: number;
  /** How far the restored circuit's remaining time is from what it had minus the time away. */
  restartDriftMs: number;
  /** How late (+) or early (−) the circuit admitted its probe after the restart. */
  reopenErrorMs: number;
}

/**
 * The story: a circuit opened on one account, another account's rate window full, a lease held
 * in flight on a third; the wall clock jumps by `firstJumpMs` and back, checking after each jump;
 * the lease must last its idle allowance;
 * then a restart 30 s later must keep the circuit's remaining time and the window, and the circuit
 * must admit its probe when (and only when) that time is up.
 */
async function story(dir: string, firstJumpMs: number, steady: boolean): Promise<JumpFindings> {
  const fake = new FakeClock();
  const wall = new JumpingWall(fake);
  const f: JumpFindings = { circuitReopenedEarly: 0, windowEmptied: 0, leaseReclaimedEarly: 0, restartDriftMs: 0, reopenErrorMs: 0 };
  let { engine, db } = await startEngine(dir, wall, steady);
  let held: Lease | null = null;
  try {
    const failing = await engine.beginRequest(CIRCUIT, 'circuit-1');
    failing.complete({ status: 'failure', code: 'upstream_5xx', httpStatus: 500 });
    for (let i = 1; i <= WINDOW_LIMIT; i++) (await engine.beginRequest({ platform: WINDOW_PLATFORM, clientId: `fill-${i}` }, `fill-${i}`)).complete({ status: 'success', httpStatus: 200 });
    held = await engine.beginRequest(HELD, 'held-1');
    await fake.advance(60_000);
    let probe = 0;
    for (const jump of [firstJumpMs, -firstJumpMs]) {
      wall.offsetMs += jump;
      await fake.advance(SWEEP_MS);
      if (await circuitPasses(engine, `probe-${++probe}`)) f.circuitReopenedEarly++;
      if (windowCount(engine) < WINDOW_LIMIT || (await refusal(engine, { platform: WINDOW_PLATFORM, clientId: 'fresh' }, `fresh-${probe}`)) !== 'rate_limited') f.windowEmptied++;
      if (held.done) f.leaseReclaimedEarly++;
    }
    // Just before its idle allowance the lease holds its slot; a sweep after it reclaims it (so the sweep is live).
    await fake.advance(IDLE_MS - fake.monotonic() - 1_000);
    if (held.done) f.leaseReclaimedEarly++;
    await fake.advance(2 * SWEEP_MS);
    if (!held.done) throw new Error('the stale sweep never reclaimed the held lease: the story cannot tell an early reclaim');

    const remainingBefore = circuitRemainingMs(engine);
    await engine.flush();
    engine.dispose();
    db.close();
    await fake.advance(RESTART_GAP_MS);
    const restartedFake = fake.restarted();
    const restartedWall = new JumpingWall(restartedFake);
    restartedWall.offsetMs = wall.offsetMs;
    ({ engine, db } = await startEngine(dir, restartedWall, steady));
    f.restartDriftMs = circuitRemainingMs(engine) - (remainingBefore - RESTART_GAP_MS);
    if (windowCount(engine) < WINDOW_LIMIT) f.windowEmptied++;
    const remaining = circuitRemainingMs(engine);
    let waited = 0;
    while (waited <= remaining + SWEEP_MS && !(await circuitPasses(engine, `after-restart-${waited}`))) {
      await restartedFake.advance(1_000);
      waited += 1_000;
    }
    // Measured against the deadline the first run set, as the real time that has passed.
    f.reopenErrorMs = waited - (remainingBefore - RESTART_GAP_MS);
    if (f.reopenErrorMs < 0) f.circuitReopenedEarly++;
  } finally {
    held?.complete({ status: 'cancelled', code: 'cancelled' });
    engine.dispose();
    db.close();
  }
  return f;
}

const sum = (fs: JumpFindings[], key: keyof JumpFindings): number => fs.reduce((n, f) => n + Math.abs(f[key]), 0);

/**
 * Clock jumps: the engine as the add-on composes it (real PolicyEngine, the background's steady
 * clock, the host's PolicyStore on a real SQLite file) with its wall clock moved an hour forward
 * and back, and back and forward. The same stories on the raw wall clock show what the check catches.
 */
export const clockJumpsCheck: ProofCheck = {
  name: 'clock-jumps',
  async run(ctx: ProofContext): Promise<ProofResult> {
    const steady: JumpFindings[] = [];
    const raw: JumpFindings[] = [];
    let n = 0;
    for (const first of [JUMP_MS, -JUMP_MS]) {
      steady.push(await story(join(ctx.scratch, `steady-${++n}`), first, true));
      raw.push(await story(join(ctx.scratch, `raw-${n}`), first, false));
      ctx.log(`clock jumps ${first > 0 ? '+1 h then back' : '-1 h then back'}: steady ${JSON.stringify(steady.at(-1))}; raw wall clock ${JSON.stringify(raw.at(-1))}`);
    }
    const early = sum(steady, 'circuitReopenedEarly');
    const emptied = sum(steady, 'windowEmptied');
    const reclaimed = sum(steady, 'leaseReclaimedEarly');
    const drift = Math.max(...steady.map((f) => Math.abs(f.restartDriftMs)));
    const reopenError = Math.max(...steady.map((f) => Math.abs(f.reopenErrorMs)));
    // A restored deadline may be off by the whole-ms rounding and the 1 s probing step, no more.
    const ok = early === 0 && emptied === 0 && reclaimed === 0 && drift <= 1 && reopenError <= 1_000;
    return {
      ok,
      line: `clock jumps: ±1 h both orders, ${early} circuits reopened early, ${emptied} windows emptied, ${reclaimed} leases reclaimed early, restart drift ${drift} ms, probe ${reopenError} ms from due (raw wall clock: ${sum(raw, 'circuitReopenedEarly')} early reopens, ${sum(raw, 'windowEmptied')} emptied windows)`,
      figures: {
        jumps: 2 * steady.length,
        jumpMs: JUMP_MS,
        circuitsReopenedEarly: early,
        windowsEmptied: emptied,
        leasesReclaimedEarly: reclaimed,
        restartDriftMs: drift,
        probeErrorMs: reopenError,
        rawWallClockCircuitsReopenedEarly: sum(raw, 'circuitReopenedEarly'),
        rawWallClockWindowsEmptied: sum(raw, 'windowEmptied'),
        rawWallClockLeasesReclaimedEarly: sum(raw, 'leaseReclaimedEarly'),
      },
    };
  },
};
