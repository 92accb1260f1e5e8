import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConductorClient } from '../../client/client.js';
import { isConductorError } from '../../shared/errors.js';
import { DEFAULT_CONTAINER, TEST_PLATFORM } from '../../shared/platforms.js';
import type { RelayRequestInput } from '../../shared/relay.js';
import { e2ePolicy } from '../../test/e2e/e2e-policy.js';
import { MOCK_CHAT_PATH, MockPlatform } from '../../test/e2e/mock-platform.js';
import { ConductorRig } from '../../test/helpers/conductor-rig.js';
import { findFirefox } from '../../test/helpers/firefox.js';
import { hostPids } from '../../test/helpers/host-pids.js';
import { waitFor } from '../../test/helpers/wait.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';

/** What issue 12 allows a host that lost its browser. */
const HOST_GONE_WITHIN_MS = 2_000;
/** A host still there this long after the crash is killed by the check, so the next round can start. */
const LINGER_GIVE_UP_MS = 5_000;
const KILLS_FULL = 10;
const KILLS_SHORT = 3;
/**
 * The client whose failures open the mock platform's account circuit while the streamed relay of
 * another client of that account hangs in flight (once open, the circuit holds every client of the
 * account, so each round opens it after its stream is out and resets it after its check).
 */
const CIRCUIT_CLIENT = 'crash-circuit';
const FAILURES_TO_OPEN = 3;

function chat(clientId: string, extra: Partial<RelayRequestInput> = {}): RelayRequestInput {
  return { requestId: randomUUID(), platform: TEST_PLATFORM, clientId, method: 'POST', path: MOCK_CHAT_PATH, body: '{}', maxWaitMs: 5_000, ...extra };
}

async function errorCode(call: Promise<unknown>): Promise<string> {
  const err = await call.then(() => null, (e: unknown) => e);
  return isConductorError(err) ? err.code : `no error (${String(err)})`;
}

/** The mock platform's default-container account as the add-on reports it: circuit, remaining open time, window count, pace. */
async function policyState(api: ConductorClient): Promise<{ circuit: string; retryInMs: number; windowCount: number; pace: string }> {
  const status = await api.browser();
  const account = status.accounts.find((a) => a.platform === TEST_PLATFORM && a.container === DEFAULT_CONTAINER);
  return {
    circuit: account?.circuitState ?? 'missing',
    retryInMs: account?.circuitRetryAt == null ? 0 : account.circuitRetryAt - status.generatedAt,
    windowCount: account?.recentDispatchCount ?? 0,
    pace: JSON.stringify(account?.pace ?? null),
  };
}

/**
 * Browser-side crash: real headless Firefox with the add-on, a streamed relay hanging mid-answer
 * on the mock platform, its account's circuit opened behind it by another client's failures, and
 * Firefox's main process killed with SIGKILL. Each time the host must be gone within 2 s, and the
 * next Firefox start must recover the request as `interrupted`, with the account's circuit still
 * open (its deadline unmoved), its pace unchanged and every dispatch still in its rate window.
 */
export const browserCrashCheck: ProofCheck = {
  name: 'browser-crash',
  async run(ctx: ProofContext): Promise<ProofResult> {
    const firefox = findFirefox();
    if (firefox === null) return { ok: false, skipped: 'firefox-esr not found (install it or set CONDUCTOR_FX_FIREFOX)', line: 'browser crash: not run', figures: {} };
    const kills = ctx.full ? KILLS_FULL : KILLS_SHORT;
    const mock = await MockPlatform.start();
    // The window holds every dispatch of the run for ten minutes: none may go missing.
    const perRound = 1 + FAILURES_TO_OPEN;
    const rig = await ConductorRig.start({ firefox, policy: e2ePolicy(perRound * kills + 5) });
    const f = { kills: 0, hostGoneInTime: 0, hostLingered: 0, maxHostExitMs: 0, interrupted: 0, circuitsIntact: 0, pacesIntact: 0, windowsIntact: 0, deadlineMovedMs: 0 };
    try {
      await rig.openTab(mock.pageUrl);
      let api = await rig.readyClient(TEST_PLATFORM);

      for (let round = 1; round <= kills; round++) {
        const requestId = `crash-${round}-${randomUUID()}`;
        const seen = mock.requests.length;
        mock.enqueue({ kind: 'stream', chunks: ['first', 'second'], gapMs: 20, hang: true });
        let chunks = 0;
        // Never awaited: the answer dies with the browser; settled so its rejection is handled.
        let refused: unknown = null;
        void api.relayStream(chat('crash-stream', { requestId, stream: true }), () => void chunks++).catch((err: unknown) => (refused ??= err));
        await waitFor('the streamed relay to be mid-answer', () => {
          if (refused !== null && chunks === 0) throw refused;
          if (mock.requests.length > seen && chunks >= 1) return true;
          throw new Error(`the platform saw ${mock.requests.length - seen} request(s), the client ${chunks} chunk(s)`);
        }, 15_000);
        mock.enqueue(...Array.from({ length: FAILURES_TO_OPEN }, () => ({ kind: 'error' as const, status: 500 })));
        for (let i = 0; i < FAILURES_TO_OPEN; i++) await errorCode(api.relay(chat(CIRCUIT_CLIENT)));
        const opened = await policyState(api);
        if (opened.circuit !== 'open') throw new Error(`round ${round}: the account circuit did not open before the crash (${opened.circuit})`);
        const deadline = Date.now() + opened.retryInMs;

        const [hostPid] = hostPids(rig.dataDir);
        if (hostPid === undefined) throw new Error('no host process serves the data dir before the crash');
        await rig.crashFirefox();
        const crashedAt = performance.now();
        f.kills++;
        let goneAfterMs: number | null = null;
        while (performance.now() - crashedAt < LINGER_GIVE_UP_MS) {
          if (!hostPids(rig.dataDir).includes(hostPid)) {
            goneAfterMs = performance.now() - crashedAt;
            break;
          }
          await sleep(20);
        }
        if (goneAfterMs !== null && goneAfterMs <= HOST_GONE_WITHIN_MS) f.hostGoneInTime++;
        f.maxHostExitMs = Math.max(f.maxHostExitMs, Math.round(goneAfterMs ?? LINGER_GIVE_UP_MS));
        if (goneAfterMs === null) {
          // The host outlived its browser (issue 12's spin): kill it, or it holds the data dir's lock.
          f.hostLingered++;
          process.kill(hostPid, 'SIGKILL');
          await waitFor(`the lingering host ${hostPid} to die`, () => (hostPids(rig.dataDir).includes(hostPid) ? undefined : true), 5_000);
        }

        await rig.relaunchFirefox();
        api = await rig.readyClient(TEST_PLATFORM);
        const entry = (await api.journal({ limit: 100 })).find((e) => e.requestId === requestId);
        // A retry with the same id is refused as interrupted (never sent again).
        const replay = await errorCode(api.relayStream(chat('crash-stream', { requestId, stream: true }), () => undefined));
        if (entry?.outcome === 'interrupted' && replay === 'interrupted') f.interrupted++;
        const state = await policyState(api);
        const moved = Math.abs(Date.now() + state.retryInMs - deadline);
        f.deadlineMovedMs = Math.max(f.deadlineMovedMs, moved);
        // Within the second the status and this process's clock may differ by.
        if (state.circuit === 'open' && moved <= 1_000) f.circuitsIntact++;
        if (state.pace === opened.pace) f.pacesIntact++;
        if (state.windowCount >= perRound * round) f.windowsIntact++;
        ctx.log(`crash ${round}/${kills}: host gone after ${goneAfterMs === null ? 'never (killed by the check)' : `${Math.round(goneAfterMs)} ms`}, journal ${entry?.outcome ?? 'missing'}, retry ${replay}, circuit ${state.circuit} (deadline moved ${moved} ms), pace ${state.pace === opened.pace ? 'kept' : `${opened.pace} -> ${state.pace}`}, window ${state.windowCount}/${perRound * round}`);
        // The next round's stream needs the account open again; the window and the pace stay.
        await api.reset(TEST_PLATFORM, CIRCUIT_CLIENT);
      }
    } finally {
      await rig.dispose().catch(() => undefined);
      await mock.close();
    }
    const ok = f.kills === kills && f.hostGoneInTime === kills && f.interrupted === kills && f.circuitsIntact === kills && f.pacesIntact === kills && f.windowsIntact === kills;
    return {
      ok,
      line: `browser crash: ${f.kills} Firefox SIGKILLs mid-stream, host gone within 2 s ${f.hostGoneInTime}/${f.kills} (slowest ${f.maxHostExitMs} ms, ${f.hostLingered} lingered), ${f.interrupted} recovered as interrupted, account circuit intact ${f.circuitsIntact}/${f.kills}, pace intact ${f.pacesIntact}/${f.kills}, window intact ${f.windowsIntact}/${f.kills}`,
      figures: { ...f },
    };
  },
};
