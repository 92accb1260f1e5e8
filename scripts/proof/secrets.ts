import { randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConductorClient } from '../../client/client.js';
import { isConductorError } from '../../shared/errors.js';
import { TEST_PLATFORM } from '../../shared/platforms.js';
import { e2ePolicy } from '../../test/e2e/e2e-policy.js';
import { MOCK_CHAT_PATH, MockPlatform } from '../../test/e2e/mock-platform.js';
import { ConductorRig } from '../../test/helpers/conductor-rig.js';
import { findFirefox } from '../../test/helpers/firefox.js';
import { hostPids } from '../../test/helpers/host-pids.js';
import { waitFor } from '../../test/helpers/wait.js';
import { LOG_FILE_NAME, DEFAULT_LOG_MAX_BYTES } from '../../native-host/src/log.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';

/** One planted secret: a name for the report and a value no honest component would ever write. */
interface Canary {
  name: string;
  value: string;
}

/** Where a scan found a canary. */
interface Hit {
  canary: string;
  where: string;
}

/** Every file under `dir`, searched byte-wise for each canary (SQLite pages, WAL frames and logs alike). */
function scanDir(dir: string, canaries: Canary[]): { files: number; bytes: number; hits: Hit[] } {
  const found = { files: 0, bytes: 0, hits: [] as Hit[] };
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const data = readFileSync(full);
        found.files++;
        found.bytes += data.length;
        for (const c of canaries) if (data.includes(c.value)) found.hits.push({ canary: c.name, where: full });
      }
    }
  };
  walk(dir);
  return found;
}

function scanText(text: string, canaries: Canary[], where: string): Hit[] {
  return canaries.filter((c) => text.includes(c.value)).map((c) => ({ canary: c.name, where }));
}

const canaryValue = (kind: string): string => `cfx-canary-${kind}-${randomBytes(12).toString('hex')}`;

/** The requests that carry the canaries: answered, streamed, refused by the platform, refused by the API. */
async function sendAll(api: ConductorClient, mock: MockPlatform, c: { auth: string; query: string; body: string; reply: string; refusedCookie: string }, round: number): Promise<number> {
  const base = {
    platform: TEST_PLATFORM,
    clientId: `secrets-${round}`,
    method: 'POST' as const,
    path: `${MOCK_CHAT_PATH}?token=${c.query}`,
    headers: { authorization: c.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: c.body }),
  };
  mock.enqueue({ kind: 'json', body: { reply: c.reply } });
  const answered = await api.relay(base);
  if (answered.body?.includes(c.reply) !== true) throw new Error('the relayed answer did not come back');
  mock.enqueue({ kind: 'stream', chunks: [c.reply, 'more'], gapMs: 20 });
  const streamed: string[] = [];
  await api.relayStream({ ...base, stream: true }, (chunk) => streamed.push(chunk.data));
  if (!streamed.join('').includes(c.reply)) throw new Error('the streamed answer did not come back');
  mock.enqueue({ kind: 'error', status: 500 });
  const failed = await api.relay(base).then(() => null, (err: unknown) => err);
  if (!isConductorError(failed) || failed.code !== 'upstream_5xx') throw new Error(`expected upstream_5xx, got ${String(failed)}`);
  // Refused by the API before it reaches the add-on: the refusal must not echo the value.
  const refused = await api.relay({ ...base, headers: { ...base.headers, cookie: `planted=${c.refusedCookie}` } }).then(() => null, (err: unknown) => err);
  if (!isConductorError(refused)) throw new Error('a request with a cookie header was not refused');
  return 4;
}

/**
 * Secrets: a session cookie the page holds, an Authorization value, a query-string token, a
 * request-body canary (and the platform's reply) go through the whole chain (API, host, real
 * Firefox, page proxy, mock platform); the data dir (DB, WAL, logs, the rotated log) and
 * everything Firefox and the host printed are then searched for each of them, while running and
 * after Firefox closed.
 */
export const secretsCheck: ProofCheck = {
  name: 'secrets',
  async run(ctx: ProofContext): Promise<ProofResult> {
    const firefox = findFirefox();
    if (firefox === null) return { ok: false, skipped: 'firefox-esr not found (install it or set CONDUCTOR_FX_FIREFOX)', line: 'secrets: not run', figures: {} };
    let output = '';
    const mock = await MockPlatform.start();
    const rig = await ConductorRig.start({ firefox, policy: e2ePolicy(20), onOutput: (text) => (output += text) });
    const c = { auth: `Bearer ${canaryValue('auth')}`, query: canaryValue('query'), body: canaryValue('body'), reply: canaryValue('reply'), refusedCookie: canaryValue('cookie') };
    const canaries: Canary[] = [
      { name: 'page session cookie', value: mock.sessionId },
      { name: 'refused cookie header', value: c.refusedCookie },
      { name: 'authorization', value: c.auth.slice('Bearer '.length) },
      { name: 'query token', value: c.query },
      { name: 'request body', value: c.body },
      { name: 'reply body', value: c.reply },
    ];
    const hits: Hit[] = [];
    let requests = 0;
    let scanned = { files: 0, bytes: 0 };
    let rotated = false;
    try {
      await rig.openTab(mock.pageUrl);
      let api = await rig.readyClient(TEST_PLATFORM);
      requests += await sendAll(api, mock, c, 1);
      // The log is rotated at the next host start: the first round's lines end up in host.log.1.
      const log = join(rig.dataDir, LOG_FILE_NAME);
      appendFileSync(log, `${'x'.repeat(120)}\n`.repeat(Math.ceil(DEFAULT_LOG_MAX_BYTES / 121)));
      await rig.restartFirefox();
      api = await rig.readyClient(TEST_PLATFORM);
      requests += await sendAll(api, mock, c, 2);
      // Positive controls: the scan must find the API token in its file, and the output must hold the add-on's own lines.
      const token = readFileSync(join(rig.dataDir, 'api-token'), 'utf8').trim();
      if (scanDir(rig.dataDir, [{ name: 'api token', value: token }]).hits.length === 0) throw new Error('the scan did not find the API token in the data dir: it cannot see secrets');
      // The host's stderr goes to Firefox's browser console, not its output: host.log holds the same lines and is scanned.
      if (!output.includes('conductor-fx:')) throw new Error("the captured output holds none of the add-on's console lines");
      const live = scanDir(rig.dataDir, canaries);
      hits.push(...live.hits.map((h) => ({ ...h, where: `${h.where} (host running)` })));
      await rig.firefox.close();
      await waitFor('the host to exit after Firefox closed', () => (hostPids(rig.dataDir).length === 0 ? true : undefined), 10_000);
      rotated = statSync(`${log}.1`, { throwIfNoEntry: false }) !== undefined;
      const closed = scanDir(rig.dataDir, canaries);
      hits.push(...closed.hits);
      scanned = { files: live.files + closed.files, bytes: live.bytes + closed.bytes };
      hits.push(...scanText(output, canaries, 'Firefox and host output'));
      // The chain really carried them: the platform saw every planted value.
      const seen = mock.requests.filter((r) => r.search.includes(c.query) && r.authorization === c.auth && r.body.includes(c.body) && r.cookie?.includes(mock.sessionId) === true);
      if (seen.length < 2 * 3) throw new Error(`the mock platform saw the canaries on ${seen.length} requests, expected ${2 * 3}`);
    } finally {
      await rig.dispose().catch(() => undefined);
      await mock.close();
    }
    for (const h of hits) ctx.log(`secret found: ${h.canary} in ${h.where}`);
    const ok = hits.length === 0 && rotated;
    return {
      ok,
      line: `secrets: ${canaries.length} canaries (cookie, authorization, query token, request and reply body) in ${requests} requests; ${hits.length} found in ${scanned.files} data-dir files (${scanned.bytes} bytes, rotated log ${rotated ? 'included' : 'MISSING'}) and ${output.length} chars of output`,
      figures: { canaries: canaries.length, requests, found: hits.length, filesScanned: scanned.files, bytesScanned: scanned.bytes, outputChars: output.length, rotatedLogScanned: rotated },
    };
  },
};
