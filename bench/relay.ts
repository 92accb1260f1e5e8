// The relay path in real headless Firefox ESR, against the same requests made without it, in one
// run: the whole chain (client → API → host → native messaging → background → page proxy → mock
// platform → back), a direct fetch from Node, the same fetch timed inside the page, and the API +
// host with a stand-in add-on. Pacing is relaxed through policy.json so nothing waits. Every answer
// is checked byte for byte and for seq order; a wrong one fails the run rather than its figures.
// `npm run bench -- relay --quick` runs fewer rounds.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'puppeteer-core';
import { ConductorClient } from '../client/client.js';
import type { StreamEvent } from '../shared/api.js';
import type { PolicyConfigInput } from '../shared/policy-config.js';
import { TEST_PLATFORM } from '../shared/platforms.js';
import type { RelayRequest, RelayResponse } from '../shared/relay.js';
import { echoResponse } from '../test/api/api-host.js';
import { ADMISSION } from '../test/api/fakes.js';
import { MOCK_CHAT_PATH, MockPlatform } from '../test/e2e/mock-platform.js';
import { ConductorRig } from '../test/helpers/conductor-rig.js';
import { findFirefox } from '../test/helpers/firefox.js';
import { hostPids } from '../test/helpers/host-pids.js';
import { ensureHostBuilt, startHost, type HostHandle } from '../test/helpers/host-process.js';
import type { BenchSuite } from './run.js';
import { percentile, round } from './stats.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 40 : 300;
const CPU_ROUNDS = QUICK ? 30 : 100;
const FRAME_ROUNDS = QUICK ? 20 : 50;
const BULK_RUNS = QUICK ? 2 : 5;
const PARALLEL_TARGETS = 10;
const PARALLEL_PER_TARGET = QUICK ? 5 : 20;
const SOAK_STREAMS = 60;
const PACED = { events: 200, gapMs: 10 };

/** 2 MiB of event data in 4 KiB events: a long answer streamed as fast as the platform can. */
const BULK_EVENT_BYTES = 4096;
const BULK_EVENTS = (2 * 1024 * 1024) / BULK_EVENT_BYTES;
const MIB = 1024 * 1024;

/** Pacing out of the way (the fastest the schema allows), so the figures are the relay's own. */
const RELAXED_POLICY: PolicyConfigInput = {
  rateLimit: { requestsPerMinutePerPlatform: 600, windowMs: 1_000, minSpacingMs: 0 },
  jitter: { muMs: 0, sigmaMs: 0, minMs: 0, maxMs: 0 },
};

const SMALL_BODY = JSON.stringify({ prompt: 'x'.repeat(80) });
/** The mock's default answer, what every small request must get back exactly. */
const SMALL_ANSWER = JSON.stringify({ reply: 'ok' });

/** Deterministic printable event payloads, so a byte out of place shows. */
function eventPayloads(count: number, bytes: number, salt: number): string[] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length: count }, (_, i) => {
    const head = `${salt}:${i}:`;
    let body = head;
    for (let k = head.length; k < bytes; k++) body += alphabet[(i * 31 + k * 7 + salt) % alphabet.length];
    return body;
  });
}

const sse = (payloads: readonly string[]): string => payloads.map((p) => `data: ${p}\n\n`).join('');

function check(what: string, ok: boolean, detail = ''): void {
  if (!ok) throw new Error(`relay bench: ${what} is wrong${detail === '' ? '' : ` (${detail})`}: the figures would not measure a working relay`);
}

/** The events of one stream as the caller got them: checked for seq order (0, 1, 2, …) as they arrive. */
class StreamReceipt {
  text = '';
  firstAt: number | null = null;
  private nextSeq = 0;
  /** When each complete event (by its index) arrived. */
  readonly eventAt: number[] = [];

  constructor(private readonly startedAt: number) {}

  readonly onChunk = (chunk: StreamEvent): void => {
    const now = performance.now();
    check('the seq order of a stream', chunk.seq === this.nextSeq, `got seq ${chunk.seq}, expected ${this.nextSeq}`);
    this.nextSeq += 1;
    this.firstAt ??= now;
    this.text += chunk.data;
    const complete = this.text.split('\n\n').length - 1;
    while (this.eventAt.length < complete) this.eventAt.push(now);
  };

  get ttfbMs(): number {
    return (this.firstAt ?? Number.NaN) - this.startedAt;
  }
}

/** CPU ticks (user + system) of processes, from /proc/<pid>/stat. */
function cpuTicks(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks;
}

/** Firefox's parent and every descendant (content processes, the native host). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited meanwhile
    }
  }
  const tree: number[] = [];
  const walk = (pid: number): void => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return tree;
}

/** Linux reports CPU time in clock ticks of 10 ms (USER_HZ 100). */
const MS_PER_TICK = 10;

/** CPU milliseconds spent by the processes and this one (client and mock) while `work` runs. */
async function cpuMs(pids: () => number[], work: () => Promise<void>): Promise<number> {
  const before = cpuTicks(pids());
  const ownBefore = process.cpuUsage();
  await work();
  const own = process.cpuUsage(ownBefore);
  return (cpuTicks(pids()) - before) * MS_PER_TICK + (own.user + own.system) / 1000;
}

/** Resident memory (MB) of Firefox's web content processes (the tabs). */
function tabRssMb(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      // Firefox's fork server rewrites a content process's argv into one string ending in its type.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (!cmdline.includes(' -contentproc ') || !cmdline.endsWith(' tab')) continue;
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024;
}

/**
 * Counts the native-messaging frames the host reads and writes while `work` runs, by tracing its
 * stdin reads and stdout writes (strace) and decoding the length-prefixed frames in those bytes.
 */
async function countHostFrames(hostPid: number, work: () => Promise<void>): Promise<{ frames: number; types: Record<string, number> }> {
  const tracer = spawn('strace', ['-p', String(hostPid), '-e', 'trace=read,write,writev', '-xx', '-s', '1048576'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let trace = '';
  tracer.stderr.setEncoding('utf8');
  tracer.stderr.on('data', (d: string) => (trace += d));
  const exited = new Promise<void>((resolve) => tracer.once('close', () => resolve()));
  for (let i = 0; i < 50 && !trace.includes('attached'); i++) await sleep(20);
  check('strace attaching to the host', trace.includes('attached'), trace.slice(0, 300));
  await sleep(200);
  await work();
  await sleep(200);
  tracer.kill('SIGINT');
  await exited;
  const inBytes: Buffer[] = [];
  const outBytes: Buffer[] = [];
  const call = /^(read|write|writev)\((\d+), (.*)\) += (\d+)$/;
  for (const line of trace.split('\n')) {
    const m = call.exec(line.trim());
    if (m === null) continue;
    const [, name, fd, args] = m;
    const target = name === 'read' && fd === '0' ? inBytes : name !== 'read' && fd === '1' ? outBytes : null;
    if (target === null) continue;
    for (const s of (args ?? '').matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)) target.push(Buffer.from((s[1] ?? '').replaceAll('\\x', ''), 'hex'));
  }
  const types: Record<string, number> = {};
  let frames = 0;
  for (const [direction, parts] of [['in', inBytes], ['out', outBytes]] as const) {
    const bytes = Buffer.concat(parts);
    for (let at = 0; at + 4 <= bytes.length; ) {
      const length = bytes.readUInt32LE(at);
      const body = bytes.subarray(at + 4, at + 4 + length).toString('utf8');
      at += 4 + length;
      frames += 1;
      const type = /"type":"([^"]+)"/.exec(body)?.[1] ?? /"kind":"([^"]+)"/.exec(body)?.[1] ?? '?';
      types[`${direction}:${type}`] = (types[`${direction}:${type}`] ?? 0) + 1;
    }
  }
  return { frames, types };
}

/** The same small chat request, made four ways. */
interface Ways {
  chain(): Promise<void>;
  direct(): Promise<void>;
  /** Returns the time the page itself measured around its fetch. */
  inPage(): Promise<number>;
  standIn(): Promise<void>;
}

function smallRequestWays(mock: MockPlatform, page: Page, chain: ConductorClient, standIn: ConductorClient): Ways {
  const chatUrl = `${mock.origin}${MOCK_CHAT_PATH}`;
  const input = { platform: TEST_PLATFORM, clientId: 'bench-relay', method: 'POST' as const, path: MOCK_CHAT_PATH, headers: { 'content-type': 'application/json' }, body: SMALL_BODY };
  const inPageFetch = `(async () => {
    const t = performance.now();
    const res = await fetch(${JSON.stringify(MOCK_CHAT_PATH)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(SMALL_BODY)} });
    const text = await res.text();
    return [performance.now() - t, res.status, text];
  })()`;
  return {
    async chain() {
      const res = await chain.relay(input);
      check('a small answer through the chain', res.status === 200 && res.body === SMALL_ANSWER, `${res.status} ${res.body}`);
    },
    async direct() {
      const res = await fetch(chatUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SMALL_BODY });
      const text = await res.text();
      check('a direct answer', res.status === 200 && text === SMALL_ANSWER, text);
    },
    async inPage() {
      const [ms, status, text] = (await page.evaluate(inPageFetch)) as [number, number, string];
      check('an in-page answer', status === 200 && text === SMALL_ANSWER, text);
      return ms;
    },
    async standIn() {
      const res = await standIn.relay({ ...input, platform: 'claude' });
      const expected = JSON.stringify({ method: 'POST', path: MOCK_CHAT_PATH, body: SMALL_BODY });
      check('a small answer through the stand-in add-on', res.status === 200 && res.body === expected, String(res.body));
    },
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** One 2 MiB stream through the chain: TTFB and total (ms), checked byte for byte. */
async function chainStream(mock: MockPlatform, client: ConductorClient, salt: number, clientId = 'bench-stream'): Promise<{ ttfbMs: number; totalMs: number }> {
  const payloads = eventPayloads(BULK_EVENTS, BULK_EVENT_BYTES, salt);
  mock.enqueue({ kind: 'stream', chunks: payloads, gapMs: 0 });
  const started = performance.now();
  const receipt = new StreamReceipt(started);
  const end = await client.relayStream({ platform: TEST_PLATFORM, clientId, method: 'POST', path: MOCK_CHAT_PATH, body: '{}' }, receipt.onChunk);
  const totalMs = performance.now() - started;
  check('a 2 MiB stream through the chain', end.status === 200 && receipt.text === sse(payloads), `status ${end.status}, ${receipt.text.length} chars`);
  return { ttfbMs: receipt.ttfbMs, totalMs };
}

/** The same 2 MiB read by the page's own fetch and handed back through page.evaluate. */
async function pageEvaluateStream(mock: MockPlatform, page: Page, salt: number): Promise<number> {
  const payloads = eventPayloads(BULK_EVENTS, BULK_EVENT_BYTES, salt);
  mock.enqueue({ kind: 'stream', chunks: payloads, gapMs: 0 });
  const started = performance.now();
  const text = (await page.evaluate(`fetch(${JSON.stringify(MOCK_CHAT_PATH)}, { method: 'POST', body: '{}' }).then((r) => r.text())`)) as string;
  const totalMs = performance.now() - started;
  check('a 2 MiB stream through page.evaluate', text === sse(payloads), `${text.length} chars`);
  return totalMs;
}

/** The stand-in add-on streams 2 MiB in 64 KiB pieces at once: the API + host + pipe alone. */
function standInStreamer(host: HostHandle, payloads: string[]): (request: RelayRequest) => RelayResponse {
  const body = sse(payloads);
  const piece = 64 * 1024;
  return (request) => {
    if (request.path !== '/bulk') return echoResponse(request);
    for (let seq = 0; seq * piece < body.length; seq++) host.emit('relay.chunk', { requestId: request.requestId, seq, data: body.slice(seq * piece, (seq + 1) * piece) });
    return { requestId: request.requestId, status: 200, headers: { 'content-type': 'text/event-stream' }, body: null, bodyLength: body.length, chunked: true, admission: ADMISSION };
  };
}

async function standInStream(client: ConductorClient, expected: string): Promise<{ ttfbMs: number; totalMs: number }> {
  const started = performance.now();
  const receipt = new StreamReceipt(started);
  await client.relayStream({ platform: 'claude', clientId: 'bench-stream', method: 'POST', path: '/bulk', body: '{}' }, receipt.onChunk);
  check('a 2 MiB stream through the stand-in add-on', receipt.text === expected, `${receipt.text.length} chars`);
  return { ttfbMs: receipt.ttfbMs, totalMs: performance.now() - started };
}

/** 200 events 10 ms apart: how long after the platform wrote each one the caller has it. */
async function pacedStream(mock: MockPlatform, client: ConductorClient): Promise<number[]> {
  const payloads = eventPayloads(PACED.events, 64, 7);
  const writtenAt: number[] = [];
  mock.enqueue({ kind: 'stream', chunks: payloads, gapMs: PACED.gapMs, onWrite: (i) => (writtenAt[i] = performance.now()) });
  const receipt = new StreamReceipt(performance.now());
  await client.relayStream({ platform: TEST_PLATFORM, clientId: 'bench-paced', method: 'POST', path: MOCK_CHAT_PATH, body: '{}' }, receipt.onChunk);
  check('the paced stream', receipt.text === sse(payloads) && receipt.eventAt.length === PACED.events, `${receipt.eventAt.length} events`);
  return receipt.eventAt.map((at, i) => at - (writtenAt[i] ?? Number.NaN));
}

export const run: BenchSuite = async () => {
  const firefox = findFirefox();
  if (firefox === null) throw new Error('relay bench: no Firefox (install firefox-esr or set CONDUCTOR_FX_FIREFOX)');
  await ensureHostBuilt();
  const mock = await MockPlatform.start();
  const standInHost = startHost({});
  const bulkPayloads = eventPayloads(BULK_EVENTS, BULK_EVENT_BYTES, 99);
  standInHost.respondWith({ 'relay.request': standInStreamer(standInHost, bulkPayloads) });
  let rig: ConductorRig | null = null;
  try {
    await standInHost.hello();
    const standIn = await ConductorClient.fromDataDir(standInHost.dataDir);
    rig = await ConductorRig.start({ firefox });
    const page = await rig.openTab(mock.pageUrl);
    const api = await rig.readyClient(TEST_PLATFORM);
    await writeFile(join(rig.dataDir, 'policy.json'), JSON.stringify(RELAXED_POLICY));
    const reload = await api.reloadPolicy();
    check('relaxing the policy through policy.json', reload.applied, JSON.stringify(reload));
    const chain = await ConductorClient.fromDataDir(rig.dataDir);
    const firefoxPid = rig.firefox.pid();
    const hostPid = hostPids(rig.dataDir)[0];
    if (hostPid === undefined) throw new Error('relay bench: the host Firefox started is not running');
    const ways = smallRequestWays(mock, page, chain, standIn);

    // Small requests, interleaved round by round so each way sees the same machine load.
    for (let i = 0; i < 20; i++) for (const way of [ways.chain, ways.direct, ways.inPage, ways.standIn]) await way();
    const small = { chain: [] as number[], direct: [] as number[], inPage: [] as number[], standIn: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      small.chain.push(await timed(ways.chain));
      small.direct.push(await timed(ways.direct));
      small.inPage.push(await ways.inPage());
      small.standIn.push(await timed(ways.standIn));
    }

    // CPU per request across Firefox's processes, the host and this process (client and mock).
    const tree = () => processTree(firefoxPid);
    const evaluateFetch = `fetch(${JSON.stringify(MOCK_CHAT_PATH)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(SMALL_BODY)} }).then((r) => r.text())`;
    const chainCpu = await cpuMs(tree, async () => {
      for (let i = 0; i < CPU_ROUNDS; i++) await ways.chain();
    });
    const evaluateCpu = await cpuMs(tree, async () => {
      for (let i = 0; i < CPU_ROUNDS; i++) check('a page.evaluate answer', (await page.evaluate(evaluateFetch)) === SMALL_ANSWER);
    });

    // Bulk: 2 MiB streams, interleaved with page.evaluate of the same body and the stand-in add-on.
    const bulk = { chainTtfb: [] as number[], chainTotal: [] as number[], evaluateTotal: [] as number[], standInTtfb: [] as number[], standInTotal: [] as number[] };
    await chainStream(mock, chain, 0);
    for (let i = 0; i < BULK_RUNS; i++) {
      const c = await chainStream(mock, chain, i + 1);
      bulk.chainTtfb.push(c.ttfbMs);
      bulk.chainTotal.push(c.totalMs);
      bulk.evaluateTotal.push(await pageEvaluateStream(mock, page, i + 1));
      const s = await standInStream(standIn, sse(bulkPayloads));
      bulk.standInTtfb.push(s.ttfbMs);
      bulk.standInTotal.push(s.totalMs);
    }
    const mbPerS = (ms: number) => (2 * MIB) / 1e6 / (ms / 1000);
    const lag = await pacedStream(mock, chain);

    // Ten targets (client ids) at once, each sending its requests one after another.
    const parallelStarted = performance.now();
    await Promise.all(
      Array.from({ length: PARALLEL_TARGETS }, async (_, t) => {
        for (let i = 0; i < PARALLEL_PER_TARGET; i++) {
          const res = await chain.relay({ platform: TEST_PLATFORM, clientId: `bench-parallel-${t}`, method: 'POST', path: MOCK_CHAT_PATH, body: SMALL_BODY });
          check('a parallel answer', res.status === 200 && res.body === SMALL_ANSWER, String(res.body));
        }
      }),
    );
    const parallelRps = (PARALLEL_TARGETS * PARALLEL_PER_TARGET) / ((performance.now() - parallelStarted) / 1000);

    const frames = await countHostFrames(hostPid, async () => {
      for (let i = 0; i < FRAME_ROUNDS; i++) await ways.chain();
    });
    console.log(`host frames over ${FRAME_ROUNDS} small relays by direction and type: ${JSON.stringify(frames.types)}`);

    // Soak: 60 streams of 2 MiB; the tab's content processes' RSS before and at its highest.
    const rssBefore = tabRssMb(firefoxPid);
    let rssPeak = rssBefore;
    for (let i = 0; i < SOAK_STREAMS; i++) {
      await chainStream(mock, chain, 1000 + i);
      rssPeak = Math.max(rssPeak, tabRssMb(firefoxPid));
    }
    const rssAfter = tabRssMb(firefoxPid);

    const p50 = (v: number[]) => percentile(v, 0.5);
    const p95 = (v: number[]) => percentile(v, 0.95);
    const evaluateMbS = mbPerS(p50(bulk.evaluateTotal));
    const chainMbS = mbPerS(p50(bulk.chainTotal));
    return {
      relay_rounds: ROUNDS,
      relay_chain_p50_ms: round(p50(small.chain), 2),
      relay_chain_p95_ms: round(p95(small.chain), 2),
      relay_direct_fetch_p50_ms: round(p50(small.direct), 2),
      relay_direct_fetch_p95_ms: round(p95(small.direct), 2),
      relay_in_page_fetch_p50_ms: round(p50(small.inPage), 2),
      relay_in_page_fetch_p95_ms: round(p95(small.inPage), 2),
      relay_stand_in_addon_p50_ms: round(p50(small.standIn), 2),
      relay_stand_in_addon_p95_ms: round(p95(small.standIn), 2),
      relay_added_over_in_page_fetch_p50_ms: round(p50(small.chain) - p50(small.inPage), 2),
      relay_frames_per_request: round(frames.frames / FRAME_ROUNDS, 2),
      relay_cpu_ms_per_request: round(chainCpu / CPU_ROUNDS, 1),
      relay_page_evaluate_cpu_ms_per_request: round(evaluateCpu / CPU_ROUNDS, 1),
      relay_cpu_ms_per_request_vs_page_evaluate: round(chainCpu / evaluateCpu, 2),
      relay_bulk_ttfb_ms: round(p50(bulk.chainTtfb), 1),
      relay_bulk_total_ms: round(p50(bulk.chainTotal), 1),
      relay_bulk_mb_s: round(chainMbS, 2),
      relay_page_evaluate_bulk_mb_s: round(evaluateMbS, 2),
      relay_stand_in_addon_bulk_ttfb_ms: round(p50(bulk.standInTtfb), 1),
      relay_stand_in_addon_bulk_mb_s: round(mbPerS(p50(bulk.standInTotal)), 2),
      relay_bulk_mb_s_vs_page_evaluate: round(chainMbS / evaluateMbS, 2),
      relay_paced_event_lag_p50_ms: round(p50(lag), 2),
      relay_paced_event_lag_p95_ms: round(p95(lag), 2),
      relay_paced_event_lag_max_ms: round(Math.max(...lag), 2),
      relay_parallel_10_targets_requests_per_s: round(parallelRps, 1),
      relay_tab_rss_mb_before_soak: round(rssBefore, 1),
      relay_tab_rss_mb_after_soak: round(rssAfter, 1),
      relay_tab_rss_growth_mb_per_60_streams: round(rssPeak - rssBefore, 1),
    };
  } finally {
    await rig?.dispose();
    await standInHost.dispose();
    await mock.close();
  }
};
