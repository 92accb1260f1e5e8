// Loopback API overhead: POST /v1/browser/request through API + host + native pipe to an
// instant fake add-on (no policy: it answers at once), against a direct loopback node:http
// call as the floor. Same client, same keep-alive agent, same answer size. Then the jobs
// figures (bench/jobs.ts): submissions through the API, and the dispatcher's pick.
import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { echoResponse } from '../test/api/api-host.js';
import { ensureHostBuilt, startHost } from '../test/helpers/host-process.js';
import { jobsEnqueuePerSecond, jobsPickNext } from './jobs.js';
import type { BenchSuite } from './run.js';
import { percentile, round } from './stats.js';

const WARMUP = 300;
const SEQUENTIAL = 3_000;
const CONCURRENT = 6_000;
const CONCURRENCY = 16;

// A release platform: the host accepts it without a browser.status look-up.
const BODY = JSON.stringify({ platform: 'claude', client_id: 'bench', method: 'POST', path: '/api/chat', body: '{"prompt":"hi"}' });

interface Target {
  port: number;
  path: string;
  headers: Record<string, string>;
}

function call(agent: Agent, target: Target): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.port, method: 'POST', path: target.path, agent, headers: { 'content-type': 'application/json', ...target.headers } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(BODY);
  });
}

/** Sequential latencies (p50/p99 in ms) and concurrent throughput (requests/s) of one target. */
async function measure(target: Target): Promise<{ p50: number; p99: number; rps: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    for (let i = 0; i < WARMUP; i += 1) await call(agent, target);
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i += 1) {
      const start = process.hrtime.bigint();
      await call(agent, target);
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CONCURRENT) {
          next += 1;
          await call(agent, target);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), rps: CONCURRENT / seconds };
  } finally {
    agent.destroy();
  }
}

/**
 * The floor: a loopback node:http server in its own process (as the host is) answering the
 * same JSON at once.
 */
const FLOOR_SERVER = `
const answer = ${JSON.stringify(JSON.stringify({ request_id: 'x', status: 200, headers: {}, body: '{"reply":"hi"}', admission: {}, replayed: false }))};
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(answer); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

async function directFloor(): Promise<{ p50: number; p99: number; rps: number }> {
  const child = spawn(process.execPath, ['-e', FLOOR_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    return await measure({ port: Number(line.toString('utf8').trim()), path: '/v1/browser/request', headers: {} });
  } finally {
    child.kill();
  }
}

export const run: BenchSuite = async () => {
  await ensureHostBuilt();
  const host = startHost({ handlers: { 'relay.request': (relay) => echoResponse(relay) } });
  try {
    const hello = await host.hello();
    const port = hello.api.port;
    if (port === null) throw new Error(`the host's API is not listening: ${hello.api.error}`);
    const token = (await readFile(join(host.dataDir, 'api-token'), 'utf8')).trim();
    const api = await measure({ port, path: '/v1/browser/request', headers: { authorization: `Bearer ${token}` } });
    const direct = await directFloor();
    const enqueue = await jobsEnqueuePerSecond(port, token);
    const pick = jobsPickNext();
    return {
      jobs_enqueue_per_s: Math.round(enqueue),
      jobs_pick_next_ms_at_100k_pending: pick.p50,
      jobs_pick_next_p99_ms_at_100k_pending: pick.p99,
      api_overhead_vs_direct_http: round(api.p50 / direct.p50, 2),
      api_p50_ms: round(api.p50),
      api_p99_ms: round(api.p99),
      api_requests_per_s: Math.round(api.rps),
      api_added_p50_ms: round(api.p50 - direct.p50),
      direct_http_p50_ms: round(direct.p50),
      direct_http_p99_ms: round(direct.p99),
      direct_http_requests_per_s: Math.round(direct.rps),
    };
  } finally {
    await host.dispose();
  }
};
