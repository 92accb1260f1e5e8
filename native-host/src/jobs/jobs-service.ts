import { randomUUID } from 'node:crypto';
import type { ApiConversation, RenewalSchedule } from '../../../shared/conversations.js';
import { type ApiJob, type ApiJobRequest, ApiJobRequestSchema } from '../../../shared/jobs.js';
import type { SafetyLimits } from '../../../shared/safety-limits.js';
import type { ExtensionLink, Logger } from '../api/context.js';
import { asConductorError } from '../api/http-errors.js';
import { parseInput } from '../api/validate.js';
import { ConversationStore, type DueRenewal } from '../store/conversation-store.js';
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
/** How often due renewals are looked for (a partial-index lookup). */
const RENEWAL_CHECK_MS = 1_000;
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
  private renewalTimer: unknown = null;

  constructor(private readonly deps: JobsServiceDeps) {
    this.conversations = new ConversationStore(deps.sqlite, deps.safety);
    this.store = new JobStore(deps.sqlite, this.conversations, { resultMaxBytes: deps.config.resultMaxBytes });
    this.dispatcher = new JobDispatcher({ store: this.store, link: deps.link, events: this.events, log: deps.log, now: deps.now, timers: deps.timers, idlePollMs: IDLE_POLL_MS });
  }

  /** Starts the dispatcher and the retention schedule. */
  start(): void {
    this.dispatcher.start();
    this.retain();
    this.renew();
  }

  /** Stops both; jobs in flight are recovered on the next start if they do not finish first. */
  stop(): void {
    this.dispatcher.stop();
    for (const timer of [this.retentionTimer, this.renewalTimer]) if (timer !== null) this.deps.timers.clearTimeout(timer);
    this.retentionTimer = null;
    this.renewalTimer = null;
  }

  /**
   * Sets a conversation to `auto`, with a renewal schedule when given (checked as a renewal job
   * of that conversation would be: bad_payload names the field).
   */
  setAuto(id: string, schedule: RenewalSchedule | undefined): ApiConversation {
    const conversation = this.conversations.describe(id);
    if (schedule !== undefined) parseInput(ApiJobRequestSchema, renewalJobInput({ conversationId: id, platform: conversation.platform, clientId: conversation.client_id, dueAt: 0, schedule }), 'renewal');
    const now = this.now();
    const auto = this.conversations.setStatus(id, 'auto', now);
    if (schedule === undefined) return auto;
    this.conversations.setRenewal(id, schedule, now);
    return this.conversations.describe(id);
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

  /** Submits the renewal jobs that are due, then looks again shortly. */
  private renew(): void {
    const { log, now, timers } = this.deps;
    try {
      const at = now();
      const taken = this.conversations.takeDueRenewals(at, (due) => void this.store.submit(`job-${randomUUID()}`, ApiJobRequestSchema.parse(renewalJobInput(due)), at));
      if (taken > 0) this.dispatcher.kick();
    } catch (err) {
      log.error('scheduling renewals failed', { code: asConductorError(err).code });
    }
    this.renewalTimer = timers.setTimeout(() => this.renew(), RENEWAL_CHECK_MS);
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

/** The job request of one renewal: the schedule's request, tied to its conversation. */
function renewalJobInput(due: DueRenewal): unknown {
  const { method, path, headers, body } = due.schedule;
  return { platform: due.platform, client_id: due.clientId, method, path, headers, body, conversation_id: due.conversationId, kind: 'renewal' };
}
