import { randomUUID } from 'node:crypto';
import type { ApiJob, ApiJobRequest } from '../../../shared/jobs.js';
import type { SafetyLimits } from '../../../shared/safety-limits.js';
import type { ExtensionLink, Logger } from '../api/context.js';
import { asConductorError } from '../api/http-errors.js';
import { ConversationStore } from '../store/conversation-store.js';
import type { Sqlite } from '../store/db.js';
import { JobStore } from '../store/job-store.js';
import { type DispatcherTimers, JobDispatcher } from './dispatcher.js';
import { JobEvents } from './job-events.js';

/** The jobs' tunables (environment, see config.ts). */
export interface JobsConfig {
  resultMaxBytes: number;
  retentionMs: number;
  dbMaxBytes: number;
}

/** How often retention runs (and once at start). */
export const RETENTION_INTERVAL_MS = 60 * 60_000;
/** The dispatcher's longest sleep: a backstop, since submissions, answers and hello wake it. */
const IDLE_POLL_MS = 5_000;

export interface JobsServiceDeps {
  sqlite: Sqlite;
  link: ExtensionLink;
  log: Logger;
  now(): number;
  timers: DispatcherTimers;
  config: JobsConfig;
  safety(): SafetyLimits;
}

/** The jobs feature as the host composes it: the stores, the event bus, the dispatcher, and retention on a schedule. */
export class JobsService {
  readonly conversations: ConversationStore;
  readonly store: JobStore;
  readonly events = new JobEvents();
  readonly dispatcher: JobDispatcher;
  private retentionTimer: unknown = null;

  constructor(private readonly deps: JobsServiceDeps) {
    this.conversations = new ConversationStore(deps.sqlite, deps.safety);
    this.store = new JobStore(deps.sqlite, this.conversations, { resultMaxBytes: deps.config.resultMaxBytes });
    this.dispatcher = new JobDispatcher({ store: this.store, link: deps.link, events: this.events, log: deps.log, now: deps.now, timers: deps.timers, idlePollMs: IDLE_POLL_MS });
  }

  /** Starts the dispatcher and the retention schedule. */
  start(): void {
    this.dispatcher.start();
    this.retain();
  }

  /** Stops both; jobs in flight are recovered on the next start if they do not finish first. */
  stop(): void {
    this.dispatcher.stop();
    if (this.retentionTimer !== null) this.deps.timers.clearTimeout(this.retentionTimer);
    this.retentionTimer = null;
  }

  /** The host's epoch clock. */
  now(): number {
    return this.deps.now();
  }

  /** Stores a job (committed when this returns) and wakes the dispatcher. */
  submit(request: ApiJobRequest): { job: ApiJob; replayed: boolean } {
    const submitted = this.store.submit(`job-${randomUUID()}`, request, this.deps.now());
    if (!submitted.replayed) this.dispatcher.kick();
    return submitted;
  }

  private retain(): void {
    const { config, log, now, timers } = this.deps;
    try {
      const pruned = this.store.prune(now(), config.retentionMs, config.dbMaxBytes);
      if (pruned.deletedJobs + pruned.deletedMessages > 0) log.info('job retention', pruned);
    } catch (err) {
      log.error('job retention failed', { code: asConductorError(err).code });
    }
    this.retentionTimer = timers.setTimeout(() => this.retain(), RETENTION_INTERVAL_MS);
  }
}
