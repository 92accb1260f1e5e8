import { z } from 'zod';
import { ApiRelayRequestSchema } from './api.js';
import { ErrorCodeSchema } from './errors.js';
import { RequestIdSchema } from './journal.js';
import { BODY_FITS_METHOD, bodyFitsMethod } from './relay.js';

/**
 * Durable jobs on the loopback API (issue 13): a request submitted once, kept in the host's DB,
 * and sent by the host's dispatcher through the add-on when the policy admits it.
 */

/** Header names a job may not carry: its headers are stored, and secrets never are (the page supplies its own session). */
export const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'x-auth-token', 'set-cookie'] as const;
const credential = new Set<string>(CREDENTIAL_HEADERS);

export const JobKindSchema = z.enum(['request', 'renewal']);
export const OnInterruptSchema = z.enum(['retry', 'fail']);

export const JobStatusSchema = z.enum(['pending', 'running', 'done', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatusSchema>;
/** A job in one of these states changes no more. */
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['done', 'failed', 'cancelled'];


/** An attempt's outcome: `refused` means the policy held it back and nothing reached the platform. */
export const AttemptOutcomeSchema = z.enum(['running', 'done', 'refused', 'failed', 'interrupted', 'cancelled']);
export type AttemptOutcome = z.infer<typeof AttemptOutcomeSchema>;

/** A conversation id: the caller's name for a platform conversation under automation. */
export const ConversationIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'conversation id may hold letters, digits and . _ : @ -');

/** Job defaults: why each is what it is is in the README's jobs section. */
export const JOB_DEFAULTS = { maxAttempts: 5, maxWaitMs: 30_000 } as const;

const epochMs = z.number().int().min(0);
const { request_id: _requestId, ...relayFields } = ApiRelayRequestSchema.shape;

/** POST /v1/jobs: the relay request's fields plus when and how often to try. */
export const ApiJobRequestSchema = z
  .object({
    ...relayFields,
    /** Wait longer than this in the add-on and the attempt is refused with retry_after_ms; the next attempt goes then. */
    max_wait_ms: z.number().int().min(0).max(3_600_000).default(JOB_DEFAULTS.maxWaitMs),
    idempotency_key: RequestIdSchema.optional(),
    conversation_id: ConversationIdSchema.optional(),
    not_before: epochMs.optional(),
    deadline: epochMs.optional(),
    max_attempts: z.number().int().min(1).max(100).default(JOB_DEFAULTS.maxAttempts),
    on_interrupt: OnInterruptSchema.default('retry'),
    /** `renewal`: a scheduled follow-up that keeps its conversation going (needs conversation_id). */
    kind: JobKindSchema.default('request'),
  })
  .strict()
  .refine(bodyFitsMethod, BODY_FITS_METHOD)
  .refine((j) => Object.keys(j.headers).every((name) => !credential.has(name.toLowerCase())), {
    message: `a job's headers are stored, so they may not set ${CREDENTIAL_HEADERS.join(', ')}`,
    path: ['headers'],
  })
  .refine((j) => j.kind !== 'renewal' || j.conversation_id !== undefined, { message: 'a renewal job names its conversation_id', path: ['conversation_id'] })
  .refine((j) => j.deadline === undefined || j.deadline > (j.not_before ?? 0), { message: 'deadline must come after not_before', path: ['deadline'] });
export type ApiJobRequest = z.infer<typeof ApiJobRequestSchema>;
export type ApiJobRequestInput = z.input<typeof ApiJobRequestSchema>;

/** 202 to POST /v1/jobs (200 with `replayed: true` when the idempotency key already named this job). */
export const ApiJobAcceptedSchema = z.object({ job_id: z.string(), status: JobStatusSchema, replayed: z.boolean() });
export type ApiJobAccepted = z.infer<typeof ApiJobAcceptedSchema>;

const ErrorSummarySchema = z.object({ code: ErrorCodeSchema, message: z.string() });

/** One attempt of a job. */
export const JobAttemptSchema = z.object({
  attempt: z.number().int().min(1),
  request_id: RequestIdSchema,
  outcome: AttemptOutcomeSchema,
  started_at: epochMs,
  finished_at: epochMs.nullable(),
  http_status: z.number().int().nullable(),
  error: ErrorSummarySchema.nullable(),
  retry_after_ms: z.number().int().min(0).nullable(),
});
export type JobAttempt = z.infer<typeof JobAttemptSchema>;

/** A job as listed. */
export const ApiJobSchema = z.object({
  job_id: z.string(),
  kind: JobKindSchema,
  idempotency_key: RequestIdSchema.nullable(),
  platform: z.string(),
  client_id: z.string(),
  container: z.string().nullable(),
  conversation_id: z.string().nullable(),
  method: z.string(),
  path: z.string(),
  status: JobStatusSchema,
  not_before: epochMs,
  deadline: epochMs.nullable(),
  max_attempts: z.number().int(),
  on_interrupt: OnInterruptSchema,
  /** Attempts that may have reached the platform (refusals by the policy are not counted). */
  attempt_count: z.number().int().min(0),
  next_attempt_at: epochMs.nullable(),
  response_status: z.number().int().nullable(),
  last_error: ErrorSummarySchema.nullable(),
  created_at: epochMs,
  updated_at: epochMs,
  finished_at: epochMs.nullable(),
});
export type ApiJob = z.infer<typeof ApiJobSchema>;

/** The stored answer of a done job: the body cut at the size cap, `truncated` when it was. */
export const JobResultSchema = z.object({ body: z.string(), byte_length: z.number().int().min(0), truncated: z.boolean() });
export type JobResult = z.infer<typeof JobResultSchema>;

/** GET /v1/jobs/{id}. */
export const ApiJobDetailSchema = ApiJobSchema.extend({ attempts: z.array(JobAttemptSchema), result: JobResultSchema.nullable() });
export type ApiJobDetail = z.infer<typeof ApiJobDetailSchema>;

/** GET /v1/jobs query: newest first; `cursor` is the next_cursor of the page before. */
export const ApiJobListQuerySchema = z
  .object({
    status: JobStatusSchema.optional(),
    platform: z.string().max(32).optional(),
    conversation: ConversationIdSchema.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().regex(/^\d{1,15}$/, 'cursor is the next_cursor of the page before').optional(),
  })
  .strict();
export type ApiJobListQuery = z.infer<typeof ApiJobListQuerySchema>;

export const ApiJobListResponseSchema = z.object({ jobs: z.array(ApiJobSchema), next_cursor: z.string().nullable() });
export type ApiJobListResponse = z.infer<typeof ApiJobListResponseSchema>;

/** SSE event names of GET /v1/jobs/{id}/events, in the order they can come; the stream ends after a final one. */
export const JOB_SSE_EVENTS = {
  queued: 'queued',
  attempt: 'attempt',
  admitted: 'admitted',
  streaming: 'streaming',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;

/** `queued`: waiting for its next attempt (sent first when the job is pending, and after each retry is scheduled). */
export const JobQueuedEventSchema = z.object({ job_id: z.string(), attempt_count: z.number().int(), next_attempt_at: epochMs.nullable(), last_error: ErrorSummarySchema.nullable() });
/** `attempt`: an attempt went to the add-on, whose policy decides when it is sent. */
export const JobAttemptEventSchema = z.object({ job_id: z.string(), attempt: z.number().int(), request_id: RequestIdSchema });
/** `admitted`: the policy let the attempt through (its first piece of answer arrived). */
export const JobAdmittedEventSchema = z.object({ job_id: z.string(), attempt: z.number().int() });
/** `streaming`: one piece of the answer, `seq` 0, 1, 2, … per attempt. */
export const JobStreamingEventSchema = z.object({ job_id: z.string(), attempt: z.number().int(), seq: z.number().int().min(0), data: z.string() });
/** `done` / `failed` / `cancelled`: the job as it ended. */
export const JobFinalEventSchema = ApiJobSchema;

/** What the host's event bus carries for one job. */
export type JobEvent =
  | { name: 'queued'; data: z.infer<typeof JobQueuedEventSchema> }
  | { name: 'attempt'; data: z.infer<typeof JobAttemptEventSchema> }
  | { name: 'admitted'; data: z.infer<typeof JobAdmittedEventSchema> }
  | { name: 'streaming'; data: z.infer<typeof JobStreamingEventSchema> }
  | { name: 'done' | 'failed' | 'cancelled'; data: ApiJob };
