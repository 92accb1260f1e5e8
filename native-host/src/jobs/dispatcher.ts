import { ConductorError } from '../../../shared/errors.js';
import type { ApiJob } from '../../../shared/jobs.js';
import type { ExtensionLink, Logger } from '../api/context.js';
import { asConductorError } from '../api/http-errors.js';
import { RelayRun } from '../api/relay-run.js';
import type { AttemptEnd, JobStore, StartedAttempt } from '../store/job-store.js';
import { attemptEndOf } from './attempt-outcome.js';
import type { JobEvents } from './job-events.js';
import { attemptRelayRequest, attemptRequestId } from './job-request.js';

/** Timers the dispatcher runs on (fake in unit tests). */
export interface DispatcherTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DispatcherDeps {
  store: JobStore;
  link: ExtensionLink;
  events: JobEvents;
  log: Logger;
  /** Epoch ms: due times are persisted. */
  now(): number;
  timers: DispatcherTimers;
  /** The longest the dispatcher sleeps without looking again (submissions and finished attempts wake it sooner). */
  idlePollMs: number;
}

/**
 * The dispatcher's state: stopped (before start, after stop), running, or paused by the system
 * switch until it looks again (the add-on refused an attempt with `paused`).
 */
export type DispatcherState = { kind: 'stopped' } | { kind: 'running' } | { kind: 'paused'; until: number };

/** One attempt in flight: the job and how to stop its relay. */
interface Flight {
  jobId: string;
  detach: () => void;
}

/**
 * Sends due jobs through the add-on, where the policy admits them like any request. At most one
 * attempt per target is in flight; each pass takes the due head of every free target, oldest
 * arrival first, so targets and accounts share the dispatcher fairly. Every move of a job is one
 * store transaction; the dispatcher only holds which attempts it has in flight.
 */
export class JobDispatcher {
  private state: DispatcherState = { kind: 'stopped' };
  /** In-flight attempts by target key. */
  private readonly inFlight = new Map<string, Flight>();
  private timer: unknown = null;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Starts dispatching. */
  start(): void {
    this.move({ kind: 'running' });
    this.wake(0);
  }

  /** Stops dispatching; attempts in flight finish on their own (or are recovered after a restart). */
  stop(): void {
    this.move({ kind: 'stopped' });
    this.clearTimer();
  }

  /** Looks for due jobs now (a job was submitted, a conversation resumed). */
  kick(): void {
    if (this.state.kind === 'running') this.wake(0);
  }

  /** The user resumed the system: stop waiting out the pause. */
  systemResumed(): void {
    if (this.state.kind === 'paused') this.move({ kind: 'running' });
    this.kick();
  }

  /** Cancels a job; a running attempt's relay is told to stop. Throws not_found / job_finished. */
  cancel(jobId: string): ApiJob {
    const { job, wasRunning } = this.deps.store.cancel(jobId, this.deps.now());
    if (wasRunning) {
      // The target stays busy until the relay settles: never two attempts on one target at once.
      for (const flight of this.inFlight.values()) if (flight.jobId === jobId) flight.detach();
    }
    this.deps.events.emit(jobId, { name: 'cancelled', data: job });
    return job;
  }

  /** The one place the state moves. */
  private move(next: DispatcherState): void {
    if (this.state.kind !== next.kind) this.deps.log.info('job dispatcher', { state: next.kind });
    this.state = next;
  }

  private wake(ms: number): void {
    this.clearTimer();
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = null;
      this.pass();
    }, Math.max(0, ms));
  }

  private clearTimer(): void {
    if (this.timer !== null) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /** One pass: start an attempt for the due head of every free target, then sleep until the next is due. */
  private pass(): void {
    const { store, link, now, idlePollMs } = this.deps;
    if (this.state.kind === 'stopped') return;
    const at = now();
    if (this.state.kind === 'paused') {
      if (at < this.state.until) return this.wake(this.state.until - at);
      this.move({ kind: 'running' });
    }
    if (!link.connected) return this.wake(idlePollMs);
    try {
      const heads: { target: string; job: ApiJob }[] = [];
      for (const target of store.pendingTargets()) {
        if (this.inFlight.has(target)) continue;
        const job = store.headOfTarget(target, at);
        if (job !== null) heads.push({ target, job });
      }
      heads.sort((a, b) => a.job.created_at - b.job.created_at || (a.job.job_id < b.job.job_id ? -1 : 1));
      for (const { target, job } of heads) {
        if (job.deadline !== null && at >= job.deadline) {
          const expired = store.expire(job.job_id, at);
          if (expired !== null) this.deps.events.emit(expired.job_id, { name: 'failed', data: expired });
          continue;
        }
        const started = store.startAttempt(job.job_id, at, (n) => attemptRequestId(job.job_id, n));
        if (started !== null) this.launch(target, started, at);
      }
      const earliest = store.earliestDueAt();
      this.wake(earliest === null || earliest <= at ? idlePollMs : Math.min(earliest - at, idlePollMs));
    } catch (err) {
      // A DB fault (disk full, I/O) must not stop the queue for good: look again later.
      this.deps.log.error('job dispatch pass failed', { code: asConductorError(err).code, message: asConductorError(err).message });
      this.wake(idlePollMs);
    }
  }

  private launch(target: string, { job, attempt, countedBefore }: StartedAttempt, at: number): void {
    const { link, log, events } = this.deps;
    const request = attemptRelayRequest(job, attempt, at);
    events.emit(job.id, { name: 'attempt', data: { job_id: job.id, attempt, request_id: request.requestId } });
    // An attempt has no callers joining late (the dispatcher keeps the pieces itself), so the run keeps none for them.
    const run = new RelayRun(
      request,
      '',
      link,
      log,
      async () => {
        if (!link.connected) throw new ConductorError('extension_unavailable', 'no add-on is connected to the host');
      },
      0,
    );
    const pieces: string[] = [];
    let admitted = false;
    const admit = () => {
      if (admitted) return;
      admitted = true;
      events.emit(job.id, { name: 'admitted', data: { job_id: job.id, attempt } });
    };
    const detach = run.attach((event) => {
      admit();
      pieces.push(event.data);
      events.emit(job.id, { name: 'streaming', data: { job_id: job.id, attempt, seq: event.seq, data: event.data } });
    });
    this.inFlight.set(target, { jobId: job.id, detach });
    run.result.then(
      ({ response, body }) => {
        admit();
        this.settle(target, job.id, attempt, { outcome: 'done', httpStatus: response.status, body: body ?? pieces.join('') });
      },
      (err: unknown) => this.settle(target, job.id, attempt, attemptEndOf(asConductorError(err), run.dispatched, countedBefore, this.deps.now())),
    );
  }

  /** Records an attempt's end, frees its target, tells the watchers, and looks for the next job. */
  private settle(target: string, jobId: string, attempt: number, end: AttemptEnd): void {
    const { store, events, log, now } = this.deps;
    this.inFlight.delete(target);
    try {
      const job = store.finishAttempt(jobId, attempt, end, now());
      if (job?.status === 'done' || job?.status === 'failed') events.emit(jobId, { name: job.status, data: job });
      if (job?.status === 'pending') {
        events.emit(jobId, { name: 'queued', data: { job_id: jobId, attempt_count: job.attempt_count, next_attempt_at: job.next_attempt_at, last_error: job.last_error } });
      }
    } catch (err) {
      // The job stays `running` in the DB; restart recovery re-queues it. Never lost, never sent twice at once.
      log.error('recording a job attempt failed', { jobId, attempt, code: asConductorError(err).code });
    }
    if (end.outcome === 'refused' && end.error.code === 'paused' && this.state.kind === 'running' && end.retryAt !== null) {
      this.move({ kind: 'paused', until: end.retryAt });
    }
    if (this.state.kind !== 'stopped') this.wake(0);
  }
}
