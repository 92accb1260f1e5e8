import {
  ApiConversationAutoSchema,
  ApiConversationListQuerySchema,
  ApiConversationPauseSchema,
  ApiRenewalJobsQuerySchema,
  ConversationActionSchema,
} from '../../../shared/conversations.js';
import { API_MAX_BODY_BYTES } from '../../../shared/api.js';
import { ConductorError } from '../../../shared/errors.js';
import { type ApiJobAccepted, ApiJobListQuerySchema, ApiJobRequestSchema, FINISHED_JOB_STATUSES, JOB_SSE_EVENTS, type JobEvent } from '../../../shared/jobs.js';
import type { JobsService } from '../jobs/jobs-service.js';
import { readJsonBody } from './guards.js';
import { sendJson } from './http-errors.js';
import type { Route, RouteCall } from './routes.js';
import { SseWriter } from './sse.js';
import { parseInput } from './validate.js';

const FINAL_EVENTS = new Set<JobEvent['name']>(['done', 'failed', 'cancelled']);

/** A request body that may be empty (no body means `{}`). */
async function optionalBody(call: RouteCall): Promise<unknown> {
  const length = call.req.headers['content-length'];
  if (length === '0' || (length === undefined && call.req.headers['transfer-encoding'] === undefined)) return {};
  return readJsonBody(call.req, API_MAX_BODY_BYTES);
}

/** Streams one job's events: its state now, then each event, until it ends or the caller goes away. */
function streamEvents(jobs: JobsService, jobId: string, call: RouteCall): void {
  const { res } = call;
  const sse = new SseWriter(res);
  let id = 0;
  const send = (event: JobEvent) => {
    sse.send(JOB_SSE_EVENTS[event.name], event.data, id++);
    if (FINAL_EVENTS.has(event.name)) {
      unsubscribe();
      sse.end();
    }
  };
  // Subscribe before reading the state, so nothing that happens in between is missed.
  const unsubscribe = jobs.events.subscribe(jobId, send);
  res.once('close', unsubscribe);
  const job = jobs.store.get(jobId);
  if (job === null) {
    unsubscribe();
    throw new ConductorError('not_found', `no job ${jobId}`);
  }
  if (job.status === 'pending') {
    send({ name: 'queued', data: { job_id: job.job_id, attempt_count: job.attempt_count, next_attempt_at: job.next_attempt_at, last_error: job.last_error } });
  } else if (job.status === 'running') {
    const last = job.attempts[job.attempts.length - 1];
    if (last !== undefined) send({ name: 'attempt', data: { job_id: job.job_id, attempt: last.attempt, request_id: last.request_id } });
  } else if (FINISHED_JOB_STATUSES.includes(job.status)) {
    const { attempts: _attempts, result: _result, ...summary } = job;
    send({ name: job.status as 'done' | 'failed' | 'cancelled', data: summary });
  }
}

/** The routes of durable jobs, conversations and renewal jobs (issue 13). */
export function jobRoutes(jobs: JobsService): Route[] {
  return [
    {
      name: 'jobs-submit',
      method: 'POST',
      pattern: /^\/v1\/jobs$/,
      async handle({ req, res }) {
        const request = parseInput(ApiJobRequestSchema, await readJsonBody(req, API_MAX_BODY_BYTES), 'request body');
        const { job, replayed } = jobs.submit(request);
        const answer: ApiJobAccepted = { job_id: job.job_id, status: job.status, replayed };
        sendJson(res, replayed ? 200 : 202, answer, { location: `/v1/jobs/${job.job_id}` });
      },
    },
    {
      name: 'jobs-list',
      method: 'GET',
      pattern: /^\/v1\/jobs$/,
      async handle({ res, url }) {
        sendJson(res, 200, jobs.store.list(parseInput(ApiJobListQuerySchema, Object.fromEntries(url.searchParams), 'query')));
      },
    },
    {
      name: 'jobs-get',
      method: 'GET',
      pattern: /^\/v1\/jobs\/([^/]+)$/,
      async handle({ res, params: [id] }) {
        const job = jobs.store.get(id!);
        if (job === null) throw new ConductorError('not_found', `no job ${id}`);
        sendJson(res, 200, job);
      },
    },
    {
      name: 'jobs-cancel',
      method: 'POST',
      pattern: /^\/v1\/jobs\/([^/]+)\/cancel$/,
      async handle({ res, params: [id] }) {
        sendJson(res, 200, jobs.dispatcher.cancel(id!));
      },
    },
    {
      name: 'jobs-events',
      method: 'GET',
      pattern: /^\/v1\/jobs\/([^/]+)\/events$/,
      async handle(call) {
        streamEvents(jobs, call.params[0]!, call);
      },
    },
    {
      name: 'conversations-list',
      method: 'GET',
      pattern: /^\/v1\/conversations$/,
      async handle({ res, url }) {
        const { limit } = parseInput(ApiConversationListQuerySchema, Object.fromEntries(url.searchParams), 'query');
        sendJson(res, 200, { conversations: jobs.conversations.list(limit) });
      },
    },
    {
      name: 'conversations-get',
      method: 'GET',
      pattern: /^\/v1\/conversations\/([^/]+)$/,
      async handle({ res, params: [id] }) {
        sendJson(res, 200, jobs.conversations.describe(id!));
      },
    },
    {
      name: 'conversations-action',
      method: 'POST',
      pattern: /^\/v1\/conversations\/([^/]+)\/(auto|manual|pause|resume)$/,
      async handle(call) {
        const [id, rawAction] = call.params as [string, string];
        const action = ConversationActionSchema.parse(rawAction);
        let conversation;
        if (action === 'auto') {
          conversation = jobs.setAuto(id, parseInput(ApiConversationAutoSchema, await optionalBody(call), 'request body').renewal);
        } else {
          const { reason } = action === 'pause' ? parseInput(ApiConversationPauseSchema, await optionalBody(call), 'request body') : { reason: undefined };
          conversation = jobs.conversations.setStatus(id, action, jobs.now(), reason);
        }
        if (action !== 'pause') jobs.dispatcher.kick();
        sendJson(call.res, 200, conversation);
      },
    },
    {
      name: 'renewal-jobs',
      method: 'GET',
      pattern: /^\/v1\/renewal\/jobs$/,
      async handle({ res, url }) {
        const query = parseInput(ApiRenewalJobsQuerySchema, Object.fromEntries(url.searchParams), 'query');
        sendJson(res, 200, jobs.store.list({ ...query, kind: 'renewal' }));
      },
    },
  ];
}
