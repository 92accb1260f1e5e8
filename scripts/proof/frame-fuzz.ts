// Check 3, frame fuzzing: generated native-messaging frames (random bytes, invalid UTF-8, JSON of
// any shape, deep nesting, envelopes with wrong types, valid envelopes with hostile payloads)
// streamed into the real built host, then the stream-ending kinds (a declared length over the
// cap, a frame cut off at EOF) each against a fresh host. Counted: crashes, hangs, untyped replies.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { EnvelopeSchema, PROTOCOL_VERSION } from '../../shared/envelope.js';
import { ErrorCodeSchema } from '../../shared/errors.js';
import { HOST_METHODS } from '../../shared/messages.js';
import { FrameDecoder, FRAME_HEADER_BYTES } from '../../native-host/src/protocol/frame-decoder.js';
import { encodeFrame } from '../../native-host/src/protocol/frame-encoder.js';
import { ADDON_ID, HOST_SCRIPT } from '../../test/helpers/host-process.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';
import { hostLog } from './host-log.js';

/** A small inbound cap, so oversize frames are cheap to declare and frames near the cap cheap to send. */
const MAX_INBOUND_BYTES = 256 * 1024;
/** Frames written between two sentinel pings; a sentinel not answered in time is a hang. */
const BATCH = 1_000;
const SENTINEL_TIMEOUT_MS = 20_000;
/** How long a host fed a stream-ending frame gets to exit (with the fatal framing code, 1). */
const FATAL_EXIT_TIMEOUT_MS = 5_000;

interface Tally {
  frames: number;
  replies: number;
  untypedReplies: number;
  crashes: number;
  hangs: number;
  fatalCases: number;
}

export const frameFuzzCheck: ProofCheck = {
  name: 'frame fuzzing',
  async run(ctx: ProofContext): Promise<ProofResult> {
    const streamed = ctx.full ? 100_000 : 10_000;
    const fatalCases = ctx.full ? 100 : 10;
    const seed = Date.now() >>> 0;
    const tally: Tally = { frames: 0, replies: 0, untypedReplies: 0, crashes: 0, hangs: 0, fatalCases: 0 };
    const firstUntyped: string[] = [];
    const began = performance.now();
    await streamPhase(ctx, streamed, seed, tally, firstUntyped);
    const streamSeconds = (performance.now() - began) / 1000;
    await fatalPhase(ctx, fatalCases, seed, tally);
    const fatalSeconds = (performance.now() - began) / 1000 - streamSeconds;
    const ok = tally.crashes + tally.hangs + tally.untypedReplies === 0 && tally.frames >= streamed;
    return {
      ok,
      line: `frame fuzzing: ${tally.frames} frames (${tally.fatalCases} of them stream-ending, each on a fresh host), ${tally.crashes} crashes, ${tally.hangs} hangs, ${tally.untypedReplies} untyped of ${tally.replies} replies`,
      figures: { ...tally, seed, streamSeconds: round1(streamSeconds), fatalSeconds: round1(fatalSeconds), ...(firstUntyped.length > 0 ? { firstUntyped: firstUntyped.join(' | ') } : {}) },
    };
  },
};

/** A spawned host whose raw stdout frames are collected. */
interface RawHost {
  child: ChildProcessWithoutNullStreams;
  dataDir: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  onReply(listener: (text: string) => void): void;
}

function spawnRawHost(dataDir: string): RawHost {
  const child = spawn(process.execPath, [HOST_SCRIPT, join(dataDir, 'conductor_fx.json'), ADDON_ID], {
    env: { ...process.env, CONDUCTOR_FX_DATA_DIR: dataDir, CONDUCTOR_FX_API_PORT: '0', CONDUCTOR_FX_MAX_INBOUND_BYTES: String(MAX_INBOUND_BYTES) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => undefined);
  child.stderr.resume();
  const listeners: ((text: string) => void)[] = [];
  const decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
  child.stdout.on('data', (chunk: Buffer) => decoder.push(chunk, (body) => listeners.forEach((l) => l(body.toString('utf8')))));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, dataDir, exited, onReply: (l) => listeners.push(l) };
}

/** True when a reply is an envelope and, if an error, carries a code of the closed set. */
export function typedReply(text: string): boolean {
  try {
    const env = EnvelopeSchema.safeParse(JSON.parse(text));
    if (!env.success) return false;
    return env.data.kind !== 'response' || env.data.ok || ErrorCodeSchema.safeParse(env.data.error.code).success;
  } catch {
    return false;
  }
}

async function streamPhase(ctx: ProofContext, count: number, seed: number, tally: Tally, firstUntyped: string[]): Promise<void> {
  const host = spawnRawHost(join(ctx.scratch, 'stream'));
  const sentinels = new Map<string, () => void>();
  host.onReply((text) => {
    tally.replies += 1;
    if (!typedReply(text)) {
      tally.untypedReplies += 1;
      if (firstUntyped.length < 3) firstUntyped.push(text.slice(0, 200));
    }
    const id = /"id":"(sentinel-\d+)"/.exec(text)?.[1];
    if (id !== undefined) sentinels.get(id)?.();
  });
  let exitedEarly = false;
  void host.exited.then(() => (exitedEarly = true));
  const bodies = frameBody();
  try {
    for (let start = 0; start < count && !exitedEarly; start += BATCH) {
      // Generated batch by batch (each from its own seed): the whole run would not fit in memory.
      const batch = fc.sample(bodies, { numRuns: Math.min(BATCH, count - start), seed: seed + start });
      for (const body of batch) host.child.stdin.write(frameOf(body));
      tally.frames += batch.length;
      const id = `sentinel-${start}`;
      const answered = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), SENTINEL_TIMEOUT_MS);
        sentinels.set(id, () => {
          clearTimeout(timer);
          resolve(true);
        });
        void host.exited.then(() => resolve(false));
      });
      host.child.stdin.write(encodeFrame(JSON.stringify({ v: PROTOCOL_VERSION, kind: 'request', id, type: 'ping', payload: {} })));
      if (!(await answered)) {
        if (exitedEarly) tally.crashes += 1;
        else tally.hangs += 1;
        ctx.log(`no answer to ${id} (${exitedEarly ? 'the host exited' : 'hang'}); stderr tail: ${hostLogTail(host.dataDir)}`);
        break;
      }
      if ((start / BATCH) % 20 === 0) ctx.log(`${start + BATCH} frames streamed, ${tally.replies} replies`);
    }
  } finally {
    host.child.stdin.end();
    const exit = await host.exited;
    // A clean close ends with code 0; anything else after a stream of only well-framed frames is a crash.
    if (!exitedEarly && exit.code !== 0) tally.crashes += 1;
    if (hostLog(host.dataDir).includes('uncaught error')) tally.crashes += 1;
  }
}

/** Frames that end the stream by design: each must make a fresh host exit with the fatal framing code, not crash or hang. */
async function fatalPhase(ctx: ProofContext, count: number, seed: number, tally: Tally): Promise<void> {
  const cases = fc.sample(fatalFrame(), { numRuns: count, seed: seed + 1 });
  for (const [index, bytes] of cases.entries()) {
    const host = spawnRawHost(join(ctx.scratch, `fatal-${index}`));
    // The bound runs from the host's first answer: starting a host on a loaded machine is not the host's fault.
    const ready = new Promise<void>((resolve) => host.onReply(() => resolve()));
    host.child.stdin.write(encodeFrame(JSON.stringify({ v: PROTOCOL_VERSION, kind: 'request', id: 'before', type: 'ping', payload: {} })));
    await Promise.race([ready, host.exited]);
    host.child.stdin.end(bytes);
    tally.frames += 1;
    tally.fatalCases += 1;
    const exit = await Promise.race([host.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), FATAL_EXIT_TIMEOUT_MS))]);
    if (exit === null) {
      tally.hangs += 1;
      ctx.log(`stream-ending case ${index} (${bytes.length} bytes) did not end the host within ${FATAL_EXIT_TIMEOUT_MS} ms; log tail: ${hostLogTail(host.dataDir)}`);
      host.child.kill('SIGKILL');
      await host.exited;
    } else if (exit.code !== 1 || !hostLog(host.dataDir).includes('fatal framing error') || hostLog(host.dataDir).includes('uncaught error')) {
      tally.crashes += 1;
      ctx.log(`stream-ending case ${index} ended with ${JSON.stringify(exit)}; log tail: ${hostLogTail(host.dataDir)}`);
    }
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function hostLogTail(dataDir: string): string {
  return hostLog(dataDir).split('\n').slice(-4).join(' / ');
}

function frameOf(body: Uint8Array): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(body.length, 0);
  return Buffer.concat([header, body]);
}

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const hostMethod = fc.constantFrom(...Object.keys(HOST_METHODS));
const id = fc.oneof(fc.string({ maxLength: 140 }), fc.constant('x'), fc.constant(''));
/** JSON values a hostile sender might put anywhere: prototype keys, huge numbers, long strings, odd unicode. */
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom<unknown>({ __proto__: { polluted: true } }, { constructor: { prototype: { polluted: true } } }, 1e308, -1e308, 2 ** 53 + 1, -0, '\u0000', '\ud800'),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.integer({ min: 1, max: 4_000 }).map((n) => 'x'.repeat(n)),
);
/** Arrays or objects nested up to 40 000 deep, within the cap (the parser and every schema walk must not overflow the stack). */
const deep = fc.tuple(fc.integer({ min: 100, max: 40_000 }), fc.boolean()).map(([depth, objects]) => (objects ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth)));

/** One frame body of any of the kinds the host must answer without dying. */
function frameBody(): fc.Arbitrary<Uint8Array> {
  const envelope = (payload: fc.Arbitrary<unknown>) =>
    fc.record({ v: fc.constant(PROTOCOL_VERSION), kind: fc.constant('request'), id, type: fc.oneof(hostMethod, fc.string({ maxLength: 80 })), payload });
  return fc.oneof(
    // Random bytes: mostly invalid UTF-8 or not JSON.
    { arbitrary: fc.uint8Array({ maxLength: 2_048 }), weight: 10 },
    // Invalid UTF-8 inside otherwise well-formed JSON.
    {
      arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => b.map((x) => x | 0x80)), hostMethod).map(([bad, type]) =>
        Buffer.concat([utf8(`{"v":1,"kind":"request","id":"u","type":"${type}","payload":{"s":"`), bad, utf8('"}}')]),
      ),
      weight: 10,
    },
    // JSON of any shape: not an envelope.
    { arbitrary: hostileValue.map((v) => utf8(JSON.stringify(v) ?? 'null')), weight: 10 },
    // Deep nesting, bare and as a payload (less often: each is up to 240 KiB).
    { arbitrary: deep.map(utf8), weight: 1 },
    { arbitrary: deep.map((d) => utf8(`{"v":1,"kind":"request","id":"deep","type":"policy.save","payload":${d}}`)), weight: 1 },
    // Envelope fields of the wrong types.
    { arbitrary: fc.record({ v: hostileValue, kind: fc.oneof(fc.constantFrom('request', 'response', 'event'), hostileValue), id: hostileValue, type: hostileValue, payload: hostileValue, ok: hostileValue, error: hostileValue }, { requiredKeys: [] }).map((e) => utf8(JSON.stringify(e))), weight: 10 },
    // Valid envelopes with hostile payloads, for every method the host serves.
    { arbitrary: envelope(fc.oneof(hostileValue, fc.dictionary(fc.string({ maxLength: 20 }), hostileValue, { maxKeys: 8 }))).map((e) => utf8(JSON.stringify(e))), weight: 10 },
    // Responses and events from the add-on that nobody asked for.
    { arbitrary: fc.record({ v: fc.constant(PROTOCOL_VERSION), kind: fc.constantFrom('response', 'event'), id, type: fc.string({ maxLength: 40 }), ok: fc.boolean(), payload: hostileValue, error: hostileValue }).map((e) => utf8(JSON.stringify(e))), weight: 10 },
    // Near the inbound cap (rarely: each is a quarter MiB).
    { arbitrary: fc.integer({ min: MAX_INBOUND_BYTES - 64, max: MAX_INBOUND_BYTES }).map((n) => utf8(`"${'y'.repeat(n - 2)}"`)), weight: 1 },
  );
}

/** Bytes that end the stream: a header declaring more than the cap, or a frame (or header) cut off by EOF. */
function fatalFrame(): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.integer({ min: MAX_INBOUND_BYTES + 1, max: 2 ** 32 - 1 }).map((declared) => {
      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      header.writeUInt32LE(declared, 0);
      return header;
    }),
    fc.uint8Array({ minLength: 1, maxLength: FRAME_HEADER_BYTES - 1 }),
    fc.tuple(fc.integer({ min: 2, max: 4_096 }), fc.uint8Array({ maxLength: 4_096 })).map(([declared, body]) => truncated(declared, body)),
  );
}

/** A header declaring `declared` bytes followed by fewer than that. */
function truncated(declared: number, body: Uint8Array): Uint8Array {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(declared, 0);
  return Buffer.concat([header, body.subarray(0, declared - 1)]);
}
