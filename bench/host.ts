// The native host through its real pipe: cold start to the first ping reply (empty DB, and a DB of
// 1 000 000 messages / 100 000 renewal jobs whose recovery must stay index-bound), framed round trips,
// RSS, an incremental policy.save against a whole-state rewrite, and a policy.admit over the pipe.
// The store-level cost of a save is the policy suite's; this one measures what the add-on waits for.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConversationStore } from '../native-host/src/store/conversation-store.js';
import { inTransaction, openArtifactDb } from '../native-host/src/store/db.js';
import { JournalStore } from '../native-host/src/store/journal-store.js';
import { RenewalStore } from '../native-host/src/store/renewal-store.js';
import { ensureHostBuilt, startHost } from '../test/helpers/host-process.js';
import { journalEntry, persistedTarget } from '../test/host/fixtures.js';
import type { BenchSuite } from './run.js';
import { median, percentile, round } from './stats.js';

const COLD_STARTS = 7;
const ROUND_TRIPS = 5_000;
const LARGE = { conversations: 10_000, messages: 1_000_000, renewalJobs: 100_000, runningEvery: 100, busyEvery: 20, journal: 20_000 };
const POLICY_TARGETS = 10_000;

export const run: BenchSuite = async () => {
  await ensureHostBuilt();
  const firstPing = await firstPingVsBareNode();
  const empty = await coldStarts(null);
  const largeDir = mkdtempSync(join(tmpdir(), 'cfx-bench-large-'));
  try {
    seedLarge(largeDir);
    const large = await coldStarts(largeDir);
    const pipe = await roundTrips(largeDir);
    const policy = await policySaves();
    return {
      host_first_ping_ms: round(firstPing.hostMs, 1),
      bare_node_ms: round(firstPing.bareMs, 1),
      host_first_ping_vs_bare_node: round(firstPing.hostMs / firstPing.bareMs, 2),
      host_cold_start_ms_empty_db: round(median(empty.ms), 1),
      host_cold_start_ms_large_db: round(median(large.ms), 1),
      host_recovery_ms_large_db: round(median(large.recoveryMs), 2),
      pipe_roundtrips_per_s: Math.round(pipe.perSecond),
      host_ping_roundtrip_p50_us: Math.round(percentile(pipe.us, 0.5)),
      host_ping_roundtrip_p99_us: Math.round(percentile(pipe.us, 0.99)),
      host_rss_mb: pipe.rssMb,
      host_policy_save_one_of_10000_ms: round(percentile(policy.oneMs, 0.5), 2),
      host_policy_save_all_10000_ms: round(percentile(policy.allMs, 0.5), 1),
      host_policy_admit_one_of_10000_ms: round(percentile(policy.admitMs, 0.5), 2),
    };
  } finally {
    rmSync(largeDir, { recursive: true, force: true });
  }
};

/**
 * Spawn to the first ping reply against spawn to exit of a bare `node -e 0`, interleaved (medians),
 * both without NODE_EXTRA_CA_CERTS: it is unset on a user's machine, and loading it costs each
 * start tens of ms that are no part of the host.
 */
async function firstPingVsBareNode(): Promise<{ hostMs: number; bareMs: number }> {
  const extraCerts = process.env['NODE_EXTRA_CA_CERTS'];
  delete process.env['NODE_EXTRA_CA_CERTS'];
  const hostMs: number[] = [];
  const bareMs: number[] = [];
  try {
    for (let i = 0; i < COLD_STARTS; i++) {
      let started = performance.now();
      const bare = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      await once(bare, 'exit');
      bareMs.push(performance.now() - started);
      started = performance.now();
      const host = startHost();
      try {
        await host.request('ping', {});
        hostMs.push(performance.now() - started);
      } finally {
        await host.dispose();
      }
    }
  } finally {
    if (extraCerts !== undefined) process.env['NODE_EXTRA_CA_CERTS'] = extraCerts;
  }
  return { hostMs: median(hostMs), bareMs: median(bareMs) };
}

/** Spawn to first ping reply; on a seeded dir, the work recovery redoes is put back before each start. */
async function coldStarts(dataDir: string | null): Promise<{ ms: number[]; recoveryMs: number[] }> {
  const ms: number[] = [];
  const recoveryMs: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    if (dataDir !== null) markInFlight(dataDir);
    const started = performance.now();
    const host = startHost(dataDir === null ? {} : { dataDir });
    try {
      await host.request('ping', {});
      ms.push(performance.now() - started);
      const { recovery } = await host.hello();
      if (dataDir !== null && recovery.requeuedRenewalJobCount === 0) throw new Error('the large DB start recovered nothing: the benchmark is not measuring recovery');
      recoveryMs.push(recovery.durationMs);
      host.closeStdin();
      await host.exited;
    } finally {
      await host.dispose();
    }
  }
  return { ms, recoveryMs };
}

async function roundTrips(dataDir: string): Promise<{ perSecond: number; us: number[]; rssMb: number | string }> {
  const host = startHost({ dataDir });
  try {
    for (let i = 0; i < 500; i++) await host.request('ping', {});
    const us: number[] = [];
    const began = performance.now();
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t = performance.now();
      await host.request('ping', {});
      us.push((performance.now() - t) * 1000);
    }
    const perSecond = ROUND_TRIPS / ((performance.now() - began) / 1000);
    return { perSecond, us, rssMb: rssMb(host.pid) };
  } finally {
    await host.dispose();
  }
}

async function policySaves(): Promise<{ oneMs: number[]; allMs: number[]; admitMs: number[] }> {
  const host = startHost();
  try {
    const targets = Array.from({ length: POLICY_TARGETS }, (_, i) => persistedTarget('claude', `client-${i}`, { lastActivityAt: i }));
    const allMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await host.request('policy.save', { targets });
      allMs.push(performance.now() - t);
    }
    const oneMs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const changed = persistedTarget('claude', `client-${i * 7}`, { staleSweepCount: i % 5, updatedAt: i });
      const t = performance.now();
      await host.request('policy.save', { targets: [changed] });
      oneMs.push(performance.now() - t);
    }
    // The write-ahead of one dispatch: what an admission costs the host before the relay may dispatch.
    const admitMs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await host.request('policy.admit', { clientId: `client-${i * 7}`, platform: 'claude', container: 'firefox-default', requestId: `r${i}`, admittedAt: 1_700_000_000_000 + i, probe: false });
      admitMs.push(performance.now() - t);
    }
    return { oneMs, allMs, admitMs };
  } finally {
    await host.dispose();
  }
}

function seedLarge(dataDir: string): void {
  const db = openArtifactDb(dataDir);
  try {
    const conversations = new ConversationStore(db.sqlite);
    const renewals = new RenewalStore(db.sqlite);
    const journal = new JournalStore(db.sqlite);
    inTransaction(db.sqlite, 'seed the benchmark DB', () => {
      for (let c = 0; c < LARGE.conversations; c++) {
        conversations.insert({ id: `conv-${c}`, platform: 'claude', clientId: `client-${c % 50}`, automationStatus: 'auto', executionState: 'idle', pauseReason: null, lastError: null, createdAt: c, updatedAt: c });
      }
      for (let m = 0; m < LARGE.messages; m++) conversations.addMessage(`conv-${m % LARGE.conversations}`, m % 2 === 0 ? 'user' : 'assistant', `message ${m}`, m);
      for (let j = 0; j < LARGE.renewalJobs; j++) {
        renewals.insert({ conversationId: `conv-${j % LARGE.conversations}`, status: j % 3 === 0 ? 'done' : 'pending', attemptCount: 1, nextAttemptAt: j, startedAt: null, finishedAt: null, createdAt: j, updatedAt: j });
      }
    });
    for (let start = 0; start < LARGE.journal; start += 500) {
      journal.record(Array.from({ length: 500 }, (_, k) => journalEntry(`req-${start + k}`, { outcome: 'success', createdAt: start + k, httpStatus: 200 })));
    }
  } finally {
    db.close();
  }
}

/** Puts back what a crashed host leaves: running jobs, busy conversations, admitted requests. */
function markInFlight(dataDir: string): void {
  const db = openArtifactDb(dataDir);
  try {
    inTransaction(db.sqlite, 'mark work in flight', () => {
      db.sqlite.prepare("UPDATE renewal_jobs SET status = 'running', started_at = 1 WHERE id % ? = 0").run(LARGE.runningEvery);
      db.sqlite.prepare("UPDATE local_conversations SET execution_state = 'renewal_running' WHERE rowid % ? = 0").run(LARGE.busyEvery);
      db.sqlite.prepare("UPDATE request_journal SET outcome = 'admitted' WHERE rowid % 200 = 0").run();
    });
  } finally {
    db.close();
  }
}

function rssMb(pid: number): number | string {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 'n/a' : round(Number(kb) / 1024, 1);
  } catch {
    return 'n/a (no /proc)';
  }
}

