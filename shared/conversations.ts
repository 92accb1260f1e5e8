import { z } from 'zod';
import { JobStatusSchema } from './jobs.js';
import { HttpMethodSchema } from './journal.js';
import { RequestHeadersSchema } from './headers.js';
import { RelativePathSchema } from './relay.js';

/**
 * Conversations under automation and their safety rules (issue 13), as the loopback API shows them.
 */


export const AutomationStatusSchema = z.enum(['manual', 'auto', 'paused']);
export const ExecutionStateSchema = z.enum(['idle', 'renewal_running', 'instruction_running']);

/**
 * A conversation's renewal schedule: while it is `auto`, a renewal job with this request is
 * submitted every `every_ms` (none while one is still pending or running). The host validates it
 * as a job request when it is set.
 */
export const RenewalScheduleSchema = z
  .object({
    every_ms: z.number().int().min(1_000).max(7 * 24 * 3_600_000),
    method: HttpMethodSchema.default('POST'),
    path: RelativePathSchema,
    headers: RequestHeadersSchema.default({}),
    body: z.string().max(1024 * 1024).nullable().default(null),
  })
  .strict();
export type RenewalSchedule = z.infer<typeof RenewalScheduleSchema>;

/** POST /v1/conversations/{id}/auto (the body is optional; a schedule replaces the one before). */
export const ApiConversationAutoSchema = z.object({ renewal: RenewalScheduleSchema.optional() }).strict();

/** A conversation under automation (no message text). */
export const ApiConversationSchema = z.object({
  conversation_id: z.string(),
  platform: z.string(),
  client_id: z.string(),
  automation_status: AutomationStatusSchema,
  execution_state: ExecutionStateSchema,
  pause_reason: z.string().nullable(),
  consecutive_failure_count: z.number().int().min(0),
  repeated_message_count: z.number().int().min(0),
  repeated_renewal_count: z.number().int().min(0),
  cooldown_until: z.number().int().nullable(),
  /** The renewal schedule without its body, and when the next renewal job is due (null: none scheduled). */
  renewal: z.object({ every_ms: z.number().int(), method: HttpMethodSchema, path: z.string() }).nullable(),
  next_renewal_at: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type ApiConversation = z.infer<typeof ApiConversationSchema>;

/** GET /v1/conversations query. */
export const ApiConversationListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1_000).default(100) }).strict();
/** GET /v1/conversations. */
export const ApiConversationListResponseSchema = z.object({ conversations: z.array(ApiConversationSchema) });
/** POST /v1/conversations/{id}/pause (the body is optional). */
export const ApiConversationPauseSchema = z.object({ reason: z.string().min(1).max(512).optional() }).strict();
/** The actions of POST /v1/conversations/{id}/{action}. */
export const ConversationActionSchema = z.enum(['auto', 'manual', 'pause', 'resume']);

/** GET /v1/renewal/jobs query. */
export const ApiRenewalJobsQuerySchema = z
  .object({ status: JobStatusSchema.optional(), limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.string().regex(/^\d{1,15}$/).optional() })
  .strict();
