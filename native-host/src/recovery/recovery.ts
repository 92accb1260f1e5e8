import type { RecoveryReport } from '../../../shared/recovery.js';
import { inTransaction, type Sqlite } from '../store/db.js';
import { recoverJobs } from '../store/job-store.js';

/** How long a renewal job interrupted by a restart waits before its next attempt, by default. */
export const DEFAULT_RENEWAL_RECOVERY_DELAY_MS = 60_000;

export interface RecoveryOptions {
  now(): number;
  /** A monotonic clock for the duration figure. */
  monotonicMs(): number;
  renewalRecoveryDelayMs: number;
}

/**
 * Restart recovery, run on every start before the host serves anything, in one transaction:
 * journal rows still `admitted` become `interrupted` (their outcome is unknown), busy conversations
 * go back to `idle`, and `running` renewal jobs and jobs are re-queued no sooner than now + the delay
 * (a job's interrupted attempt counts; see recoverJobs).
 * Every query reads through a partial index, so the cost follows the rows recovered, not the DB size.
 */
export function runRecovery(sqlite: Sqlite, options: RecoveryOptions): RecoveryReport {
  const startedAt = options.now();
  const began = options.monotonicMs();
  const earliest = startedAt + options.renewalRecoveryDelayMs;
  const counts = inTransaction(sqlite, 'run restart recovery', () => {
    const interrupted = sqlite
      .prepare(`UPDATE request_journal SET outcome = 'interrupted', error_code = 'interrupted' WHERE outcome = 'admitted'`)
      .run().changes;
    const conversations = sqlite
      .prepare(`UPDATE local_conversations SET execution_state = 'idle', updated_at = ? WHERE execution_state <> 'idle'`)
      .run(startedAt).changes;
    // Read before the update: afterwards the re-queued rows no longer stand out from other pending ones.
    const nextAttemptAt = sqlite
      .prepare<[number], { next: number | null }>(`SELECT MIN(MAX(COALESCE(next_attempt_at, 0), ?)) AS next FROM renewal_jobs WHERE status = 'running'`)
      .get(earliest)?.next ?? null;
    const requeued = sqlite
      .prepare(
        `UPDATE renewal_jobs SET status = 'pending', started_at = NULL, finished_at = NULL,
           next_attempt_at = MAX(COALESCE(next_attempt_at, 0), ?), updated_at = ?
         WHERE status = 'running'`,
      )
      .run(earliest, startedAt).changes;
    const jobs = recoverJobs(sqlite, startedAt, earliest);
    return { interrupted, conversations, requeued, nextAttemptAt, jobs };
  });
  return {
    startedAt,
    durationMs: Math.max(0, options.monotonicMs() - began),
    recoveredExecutionStateCount: counts.conversations,
    requeuedRenewalJobCount: counts.requeued,
    interruptedRequestCount: counts.interrupted,
    requeuedJobCount: counts.jobs.requeued,
    failedJobCount: counts.jobs.failed,
    recoveryNextAttemptAt: counts.nextAttemptAt,
  };
}
