import { createHash } from 'node:crypto';
import type { ApiJobRequest } from '../../../shared/jobs.js';
import { DEFAULT_CONTAINER, targetKey } from '../../../shared/platforms.js';
import type { RelayRequest } from '../../../shared/relay.js';

/** What of a job goes to the add-on on each attempt. */
export interface JobSendable {
  id: string;
  platform: string;
  client_id: string;
  container: string | null;
  method: RelayRequest['method'];
  path: string;
  headers: Record<string, string>;
  body: string | null;
  stream: boolean;
  max_wait_ms: number | null;
  deadline: number | null;
}

/** The target a job is paced under: one in flight per target (the container separates accounts; none is the default one). */
export function jobTargetKey(job: { platform: string; client_id: string; container?: string | null | undefined }): string {
  const base = targetKey({ platform: job.platform, clientId: job.client_id });
  const container = job.container ?? DEFAULT_CONTAINER;
  return container === DEFAULT_CONTAINER ? base : `${base}#${container}`;
}

/** Everything that makes two submissions the same job (the body by digest), for idempotency keys. */
export function jobFingerprint(job: ApiJobRequest): string {
  const headers = Object.entries(job.headers)
    .map(([k, v]) => [k.toLowerCase(), v])
    .sort(([a], [b]) => (a! < b! ? -1 : 1));
  const body = job.body === null ? null : createHash('sha256').update(job.body).digest('hex');
  const { kind, platform, client_id, container, conversation_id, method, path, stream, max_wait_ms, not_before, deadline, max_attempts, on_interrupt } = job;
  return JSON.stringify([kind, platform, client_id, container ?? null, conversation_id ?? null, method, path, headers, body, stream, max_wait_ms, not_before ?? null, deadline ?? null, max_attempts, on_interrupt]);
}

/** The request id of one attempt: unique per attempt, so the add-on's journal tells attempts apart. */
export function attemptRequestId(jobId: string, attempt: number): string {
  return `${jobId}.${attempt}`;
}

/**
 * One attempt as the add-on's relay request. The wait the add-on may hold it is the job's
 * max_wait_ms, never past the deadline; a longer wait comes back as a refusal with retry_after_ms.
 */
export function attemptRelayRequest(job: JobSendable, attempt: number, now: number): RelayRequest {
  const untilDeadline = job.deadline === null ? null : Math.max(0, job.deadline - now);
  const waits = [job.max_wait_ms, untilDeadline].filter((w): w is number => w !== null);
  return {
    requestId: attemptRequestId(job.id, attempt),
    platform: job.platform,
    clientId: job.client_id,
    container: job.container ?? DEFAULT_CONTAINER,
    method: job.method,
    path: job.path,
    headers: job.headers,
    body: job.body,
    stream: job.stream,
    maxWaitMs: waits.length === 0 ? null : Math.min(...waits),
  };
}
