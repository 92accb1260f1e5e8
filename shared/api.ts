import { z } from 'zod';
import { ErrorBodySchema, ErrorCodeSchema } from './errors.js';
import { HttpMethodSchema, JournalEntrySchema, JournalOutcomeSchema, RequestIdSchema } from './journal.js';
import { HostStatusSchema } from './messages.js';
import { ClientIdSchema, DEFAULT_CLIENT_ID, PlatformIdSchema } from './platforms.js';
import { RequestHeadersSchema } from './headers.js';
import { BODY_FITS_METHOD, bodyFitsMethod, PartialStreamSchema, RelativePathSchema, RelayChunkSchema, RelayRequestSchema, RelayResponseSchema } from './relay.js';
import { BrowserStatusSchema } from './status.js';

/**
 * The loopback HTTP API's wire contract (snake_case, as automation clients write it). The host
 * serves it, the typed client and CLI consume it; both validate with these schemas.
 */

/** Default port of the loopback API. */
export const DEFAULT_API_PORT = 7311;
/** The environment variable that overrides it (0: a free port). */
export const API_PORT_ENV = 'CONDUCTOR_FX_API_PORT';
/** Files the host writes into the data dir: the bearer token (mode 0600) and the port it listens on. */
export const API_TOKEN_FILE = 'api-token';
export const API_PORT_FILE = 'api-port';
/** The API's Unix socket in the data dir (Linux, macOS): the dir's permissions are its access control. */
export const API_SOCKET_FILE = 'api.sock';
/** Largest request body the API reads: a relayed body at its schema cap plus JSON escaping room. */
export const API_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** POST /v1/browser/request. */
export const ApiRelayRequestSchema = z
  .object({
    platform: PlatformIdSchema,
    client_id: ClientIdSchema.default(DEFAULT_CLIENT_ID),
    method: HttpMethodSchema,
    path: RelativePathSchema,
    headers: RequestHeadersSchema.default({}),
    body: RelayRequestSchema.shape.body,
    stream: z.boolean().default(false),
    /** The idempotency key; the host makes one when absent. */
    request_id: RequestIdSchema.optional(),
    max_wait_ms: RelayRequestSchema.shape.maxWaitMs,
  })
  .strict()
  .refine(bodyFitsMethod, BODY_FITS_METHOD);
export type ApiRelayRequest = z.infer<typeof ApiRelayRequestSchema>;
export type ApiRelayRequestInput = z.input<typeof ApiRelayRequestSchema>;

/**
 * A non-streaming answer. `replayed: true` when the request id had already finished: status and
 * admission then come from the request journal, which keeps no headers or bodies (both empty).
 */
export const ApiRelayResponseSchema = RelayResponseSchema.pick({ status: true, headers: true, body: true, admission: true }).extend({
  request_id: RequestIdSchema,
  replayed: z.boolean(),
});
export type ApiRelayResponse = z.infer<typeof ApiRelayResponseSchema>;

/** SSE event names of a streamed answer, in the order they can come. */
export const SSE_EVENTS = { event: 'stream_event', end: 'stream_end', error: 'stream_error' } as const;

/** `stream_event`: one piece of the upstream body; `seq` runs 0, 1, 2, … without gaps. */
export const StreamEventSchema = RelayChunkSchema.pick({ seq: true, data: true });
export type StreamEvent = z.infer<typeof StreamEventSchema>;

/** `stream_end`: the upstream finished; `body_length` null on a replay (the journal keeps no body). */
export const StreamEndSchema = RelayResponseSchema.pick({ status: true, headers: true, admission: true }).extend({
  request_id: RequestIdSchema,
  body_length: z.number().int().min(0).nullable(),
  replayed: z.boolean(),
});
export type StreamEnd = z.infer<typeof StreamEndSchema>;

/** `stream_error`: the stream broke off after events were sent; `partial` says what had arrived. */
export const StreamErrorSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  partial: PartialStreamSchema,
});
export type StreamError = z.infer<typeof StreamErrorSchema>;

/**
 * Every error answer: `{error: {code, message, details?, retry_after_ms?}}`. `retry_after_ms`
 * repeats details.retry_after_ms (also sent as Retry-After, in seconds) for callers that read only it.
 */
export const ApiErrorResponseSchema = z.object({
  error: ErrorBodySchema.extend({ retry_after_ms: z.number().min(0).optional() }),
});
export type ApiErrorResponse = z.infer<typeof ApiErrorResponseSchema>;

/** GET /v1/browser: the popup's status document plus the host process's own status. */
export const ApiBrowserStatusSchema = BrowserStatusSchema.extend({ hostStatus: HostStatusSchema });
export type ApiBrowserStatus = z.infer<typeof ApiBrowserStatusSchema>;

/** GET /v1/journal query. */
export const ApiJournalQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
    platform: PlatformIdSchema.optional(),
    outcome: JournalOutcomeSchema.optional(),
  })
  .strict();

/** GET /v1/journal: newest first. */
export const ApiJournalResponseSchema = z.object({ entries: z.array(JournalEntrySchema) });

/** POST /v1/system/pause. */
export const ApiPauseRequestSchema = z.object({ reason: z.string().min(1).max(512) }).strict();

/** POST /v1/browser/targets/{platform}/{client_id}/reset. */
export const ApiResetResponseSchema = z.object({ reset: z.boolean() });
/** POST /v1/system/pause and /v1/system/resume. */
export const ApiPausedResponseSchema = z.object({ paused: z.boolean() });

/** POST /v1/policy/reload: whether the add-on now runs policy.json, which file, and why it was refused. */
export const ApiPolicyReloadResponseSchema = z.object({ applied: z.boolean(), source: z.string().nullable(), error: z.string().nullable() });
export type ApiPolicyReloadResponse = z.infer<typeof ApiPolicyReloadResponseSchema>;

/**
 * GET /v1/auth/proof?nonce=…: answered without the token, so a client can make a TCP server prove
 * it knows the token before sending it (PROTOCOL.md, "Loopback API transport and authentication").
 */
export const API_PROOF_PATH = '/v1/auth/proof';
/** The client's challenge: 32 random bytes, base64url. */
export const ApiProofNonceSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a nonce is 32 random bytes in base64url (43 characters)');
/** The proof: base64url HMAC-SHA256 of the challenge under the token. */
export const ApiProofResponseSchema = z.object({ proof: z.string().max(64) }).strict();
export type ApiProofResponse = z.infer<typeof ApiProofResponseSchema>;
