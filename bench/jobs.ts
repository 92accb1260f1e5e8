// Durable jobs: submissions through the loopback API (POST /v1/jobs, committed before the 202),
// and the dispatcher's pick (targets with pending work, then each free target's due head) over
// 100 000 pending jobs, which must stay an index lookup.
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiJobRequestSchema } from '../shared/jobs.js';
import { ConversationStore } from '../native-host/src/store/conversation-store.js';
import { inTransaction, openArtifactDb } from '../native-host/src/store/db.js';
import { JobStore } from '../native-host/src/store/job-store.js';
import { percentile, round } from './stats.js';

const ENQUEUES = 3_000;
const CONCURRENCY = 16;
const PENDING = 100_000;
const TARGETS = 8;
const PICKS = 500;

function submit(agent: Agent, port: number, token: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/jobs', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Jobs stored per second through POST /v1/jobs, 16 callers at once (due in an hour, so the dispatcher stays out of it). */
export async function jobsEnqueuePerSecond(port: number, token: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const body = JSON.stringify({ platform: 'claude', client_id: 'bench', method: 'POST', path: '/api/chat', body: '{"prompt":"hi"}', not_before: Date.now() + 3_600_000 });
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ENQUEUES) {
          next += 1;
          await submit(agent, port, token, body);
        }
      }),
    );
    return ENQUEUES / ((performance.now() - started) / 1000);
  } finally {
    agent.destroy();
  }
}

/** The dispatcher's pick over 100 000 pending jobs on 8 targets: p50 and p99 of one full pick, in ms. */
export function jobsPickNext(): { p50: number; p99: number } {
  const dir = mkdtempSync(join(tmpdir(), 'cfx-bench-jobs-'));
  const db = openArtifactDb(dir);
  try {
    const store = new JobStore(db.sqlite, new ConversationStore(db.sqlite), { resultMaxBytes: 1024 * 1024 });
    const now = Date.now();
    inTransaction(db.sqlite, 'seed jobs', () => {
      for (let i = 0; i < PENDING; i++) {
        store.submit(`job-${i}`, ApiJobRequestSchema.parse({ platform: 'claude', client_id: `t${i % TARGETS}`, method: 'POST', path: '/api/chat', body: `prompt ${i}` }), now + i);
      }
    });
    db.sqlite.pragma('optimize');
    const ms: number[] = [];
    for (let i = 0; i < PICKS; i++) {
      const started = performance.now();
      let found = 0;
      for (const target of store.pendingTargets()) if (store.headOfTarget(target, now + PENDING) !== null) found += 1;
      ms.push(performance.now() - started);
      if (found !== TARGETS) throw new Error(`the pick found ${found} heads, not ${TARGETS}`);
    }
    return { p50: round(percentile(ms, 0.5), 3), p99: round(percentile(ms, 0.99), 3) };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
