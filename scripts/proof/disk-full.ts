import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ConductorClient } from '../../client/client.js';
import { isConductorError } from '../../shared/errors.js';
import { DEFAULT_CONTAINER, TEST_PLATFORM } from '../../shared/platforms.js';
import type { RelayRequestInput } from '../../shared/relay.js';
import type { BrowserStatus } from '../../shared/status.js';
import { DB_FILE_NAME, openSqliteFile } from '../../native-host/src/store/db.js';
import { e2ePolicy } from '../../test/e2e/e2e-policy.js';
import { MOCK_CHAT_PATH, MockPlatform } from '../../test/e2e/mock-platform.js';
import { ConductorRig } from '../../test/helpers/conductor-rig.js';
import { findFirefox } from '../../test/helpers/firefox.js';
import { hostPids } from '../../test/helpers/host-pids.js';
import { waitFor } from '../../test/helpers/wait.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';

/** The tiny filesystem the data dir lives on: room for the DB, its WAL and the logs, little more. */
const TMPFS_SIZE = '16m';
const CIRCUIT_CLIENT = 'full-circuit';
/** The mock platform's default-container account: its circuit, window and pace, as the popup heads its card and the DB keys its row. */
const ACCOUNT_KEY = `${TEST_PLATFORM}/${DEFAULT_CONTAINER}`;
const ACCOUNT_CARD = `${TEST_PLATFORM} · ${DEFAULT_CONTAINER}`;
const HEALTHY_RELAYS = 5;
/** Relays tried once the disk is full; SQLite may still fit a few into pages it already has. */
const MAX_TRIES_WHILE_FULL = 40;
/** The add-on's catch-up retry is 5 s; this leaves room for a slow machine. */
const CATCH_UP_TIMEOUT_MS = 20_000;

function chat(clientId: string): RelayRequestInput {
  return { requestId: randomUUID(), platform: TEST_PLATFORM, clientId, method: 'POST', path: MOCK_CHAT_PATH, body: '{}', maxWaitMs: 5_000 };
}

async function outcome(call: Promise<unknown>): Promise<string> {
  const err = await call.then(() => null, (e: unknown) => e);
  if (err === null) return 'ok';
  if (isConductorError(err)) return err.code;
  throw err;
}

/** Writes a filler file until the filesystem refuses more (ENOSPC); returns its size. */
function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x2e);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Mounts a size-limited tmpfs, or says why it cannot here. */
function mountTiny(dir: string): string | null {
  if (process.getuid?.() !== 0) return 'not root: a size-limited tmpfs needs `mount` as root';
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mount -t tmpfs is not permitted here: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
}

/** What the host's DB holds of the story, read on a connection of our own. */
function hostRows(dataDir: string, requestIds: string[]): { integrity: string; missing: number; circuit: string | null; dispatches: number } {
  const sqlite = openSqliteFile(join(dataDir, DB_FILE_NAME), 2_000);
  try {
    const integrity = String(sqlite.pragma('integrity_check', { simple: true }));
    const has = sqlite.prepare<[string], { n: number }>('SELECT count(*) AS n FROM request_journal WHERE request_id = ?');
    const missing = requestIds.filter((id) => (has.get(id)?.n ?? 0) === 0).length;
    const value = sqlite.prepare<[string, string], { value: string }>('SELECT value FROM browser_request_policy_state WHERE kind = ? AND key = ?');
    const row = value.get('account', ACCOUNT_KEY);
    const account = row === undefined ? null : (JSON.parse(row.value) as { circuitState: string; dispatches: number[] });
    return { integrity, missing, circuit: account?.circuitState ?? null, dispatches: account?.dispatches.length ?? 0 };
  } finally {
    sqlite.close();
  }
}

const storeError = (s: BrowserStatus): string | null => s.host.storeError?.code ?? null;

/**
 * Disk full: the data dir on a 16 MiB tmpfs, real Firefox and host serving relays; the filesystem
 * is filled up mid-run, twice. The add-on must refuse what it cannot journal with a typed error,
 * say why in the status and the popup, keep enforcing (the account's open circuit still refuses
 * while the disk is full the second time), lose nothing committed, and the host must catch up
 * (the account's circuit and every dispatch in its DB) once space returns, without any new request. Then the filesystem is remounted read-only for the next start:
 * the popup must say why the host is unusable while the circuit stays open from storage.local, and
 * the add-on must reconnect on its own once it is writable again.
 */
export const diskFullCheck: ProofCheck = {
  name: 'disk-full',
  async run(ctx: ProofContext): Promise<ProofResult> {
    const unit = 'the store and mirror behaviour is proven by native-host/src/store/store-faults.test.ts and extension/src/background/policy-persistence.test.ts';
    const firefox = findFirefox();
    if (firefox === null) return { ok: false, skipped: `firefox-esr not found; ${unit}`, line: 'disk full: not run', figures: {} };
    const mnt = join(ctx.scratch, 'tiny');
    const why = mountTiny(mnt);
    if (why !== null) return { ok: false, skipped: `${why}; ${unit}`, line: 'disk full: not run', figures: {} };
    const dataDir = join(mnt, 'data');
    const filler = join(mnt, 'filler');
    const mock = await MockPlatform.start();
    let rig: ConductorRig | null = null;
    const f = { fillerBytes: 0, acceptedWhileFull: 0, refusedWhileFull: 0, untypedRefusals: 0, circuitEnforced: false, circuitStoreError: 'none', caughtUpAgain: false, statusReason: 'none', popupSaysWhy: false, caughtUpMs: -1, lostJournalRows: 0, integrity: 'not checked', hostCircuit: 'none', hostDispatches: 0, addonDispatches: 0, servesAfter: false, readOnlyReason: 'none', readOnlyRecovered: false };
    const committed: string[] = [];
    let remountedRo = false;
    try {
      rig = await ConductorRig.start({ firefox, policy: e2ePolicy(100), dataDir });
      await rig.openTab(mock.pageUrl);
      const api: ConductorClient = await rig.readyClient(TEST_PLATFORM);
      for (let i = 0; i < HEALTHY_RELAYS; i++) {
        const req = chat('full-ok');
        if ((await outcome(api.relay(req))) === 'ok') committed.push(req.requestId as string);
      }

      // Full while the account is closed: relays reach admission and what cannot be stored is refused, typed.
      f.fillerBytes = fillUp(filler);
      ctx.log(`disk full: filled ${f.fillerBytes} bytes`);
      let status = await api.browser();
      for (let i = 0; i < MAX_TRIES_WHILE_FULL && storeError(status) === null; i++) {
        const req = chat('full-during');
        const result = await outcome(api.relay(req));
        if (result === 'ok') {
          f.acceptedWhileFull++;
          committed.push(req.requestId as string);
        } else if (result === 'disk_full' || result === 'db_error') f.refusedWhileFull++;
        else f.untypedRefusals++;
        status = await api.browser();
      }
      f.statusReason = storeError(status) ?? 'none';
      const text = await waitFor('the popup to say why the host is not saving', async () => {
        const t = await rig?.firefox.popupText();
        return t !== undefined && t.includes(`(${f.statusReason})`) ? t : undefined;
      }, 10_000).catch(() => '');
      f.popupSaysWhy = text !== '';

      rmSync(filler);
      const freedAt = Date.now();
      await waitFor('the host to catch up (no store error in the status)', async () => (storeError(await api.browser()) === null ? true : undefined), CATCH_UP_TIMEOUT_MS).catch(() => undefined);
      if (storeError(await api.browser()) === null) f.caughtUpMs = Date.now() - freedAt;
      const after = chat('full-after');
      f.servesAfter = (await outcome(api.relay(after))) === 'ok';
      if (f.servesAfter) committed.push(after.requestId as string);

      // Full again with the account's circuit open (it holds every client of the account, so it
      // opens only now): the add-on must keep refusing from its own state while the host cannot
      // save. A pause and resume are policy writes the full disk refuses, so the store error shows.
      mock.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 }, { kind: 'error', status: 500 });
      for (let i = 0; i < 3; i++) {
        const req = chat(CIRCUIT_CLIENT);
        if ((await outcome(api.relay(req))) === 'upstream_5xx') committed.push(req.requestId as string);
      }
      fillUp(filler);
      await api.pause('disk-full proof: a policy write while the disk is full');
      await api.resume();
      await waitFor('the store error while the circuit is open', async () => (storeError(await api.browser()) !== null ? true : undefined), 10_000).catch(() => undefined);
      f.circuitStoreError = storeError(await api.browser()) ?? 'none';
      f.circuitEnforced = (await outcome(api.relay(chat(CIRCUIT_CLIENT)))) === 'circuit_open';
      rmSync(filler);
      await waitFor('the host to catch up again', async () => (storeError(await api.browser()) === null ? true : undefined), CATCH_UP_TIMEOUT_MS).catch(() => undefined);
      f.caughtUpAgain = storeError(await api.browser()) === null;

      // Read-only: the data dir comes back read-only at the next start (as the kernel remounts a failing disk).
      await rig.firefox.close();
      await waitFor('the host to exit after Firefox closed', () => (hostPids(dataDir).length === 0 ? true : undefined), 10_000);
      execFileSync('mount', ['-o', 'remount,ro', mnt], { stdio: 'pipe' });
      remountedRo = true;
      await rig.relaunchFirefox();
      const roText = await waitFor('the popup to say the data dir is read-only, with the circuit still open', async () => {
        const t = (await rig?.firefox.popupText()) ?? '';
        return /db_error|read-only/.test(t) && /\bopen\b/i.test(t.split('\n').find((l) => l.includes(ACCOUNT_CARD)) ?? '') ? t : undefined;
      }, 30_000).catch(() => '');
      f.readOnlyReason = roText.split('\n').find((l) => /read-only/.test(l))?.trim() ?? 'none';
      execFileSync('mount', ['-o', 'remount,rw', mnt], { stdio: 'pipe' });
      remountedRo = false;
      // The add-on reconnects on its own backoff; nothing is restarted.
      const again = await rig.readyClient(TEST_PLATFORM);
      f.readOnlyRecovered = (await outcome(again.relay(chat(CIRCUIT_CLIENT)))) === 'circuit_open';

      f.addonDispatches = (await again.browser()).accounts.find((a) => `${a.platform}/${a.container}` === ACCOUNT_KEY)?.recentDispatchCount ?? 0;
      const rows = hostRows(dataDir, committed);
      f.lostJournalRows = rows.missing;
      f.integrity = rows.integrity;
      f.hostCircuit = rows.circuit ?? 'none';
      f.hostDispatches = rows.dispatches;
    } finally {
      await rig?.dispose().catch(() => undefined);
      await mock.close();
      try {
        if (remountedRo) execFileSync('mount', ['-o', 'remount,rw', mnt], { stdio: 'pipe' });
        execFileSync('umount', [mnt], { stdio: 'pipe' });
      } catch (err) {
        ctx.log(`disk full: umount ${mnt} failed: ${String(err)}`);
      }
    }
    const ok =
      f.refusedWhileFull > 0 &&
      f.untypedRefusals === 0 &&
      f.circuitEnforced &&
      f.circuitStoreError === 'disk_full' &&
      f.caughtUpAgain &&
      f.statusReason === 'disk_full' &&
      f.popupSaysWhy &&
      f.caughtUpMs >= 0 &&
      f.lostJournalRows === 0 &&
      f.integrity === 'ok' &&
      f.hostCircuit === 'open' &&
      f.hostDispatches >= f.addonDispatches &&
      f.servesAfter &&
      f.readOnlyReason !== 'none' &&
      f.readOnlyRecovered;
    return {
      ok,
      line: `disk full: ${TMPFS_SIZE} tmpfs filled mid-run, ${f.refusedWhileFull} writes refused typed (${f.untypedRefusals} untyped, ${f.acceptedWhileFull} fitted), account circuit ${f.circuitEnforced ? 'still enforced' : 'NOT enforced'} while full again (${f.circuitStoreError}), status and popup say ${f.statusReason}${f.popupSaysWhy ? '' : ' (popup: NOT)'}, ${f.lostJournalRows} committed rows lost, integrity ${f.integrity}, host caught up ${f.caughtUpMs >= 0 ? `${f.caughtUpMs} ms after space returned` : 'NEVER'}${f.caughtUpAgain ? '' : ' (NOT the second time)'} (${f.hostDispatches}/${f.addonDispatches} dispatches, circuit ${f.hostCircuit}); read-only data dir: popup ${f.readOnlyReason === 'none' ? 'did NOT say why' : 'says why'}, circuit ${f.readOnlyRecovered ? 'kept and the host back' : 'NOT recovered'} once writable`,
      figures: { ...f, committedRows: committed.length },
    };
  },
};
