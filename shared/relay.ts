import { z } from 'zod';
import { AdmissionSchema } from './admission.js';
import { HeadersSchema, RequestHeadersSchema } from './headers.js';
import { HttpMethodSchema, RequestIdSchema, type HttpMethod } from './journal.js';
import { ClientIdSchema, PlatformIdSchema } from './platforms.js';

/** A same-origin relative path: one leading slash, no scheme, no protocol-relative `//`. */
export const RelativePathSchema = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^\/(?!\/)[^\s\\]*$/, 'path must be same-origin and relative, starting with a single "/"');

/**
 * GET and HEAD carry no body: fetch refuses one, and the refusal would otherwise surface in the
 * page as a network error counted against the platform. Checked on both the API and the port.
 */
export function bodyFitsMethod(request: { method: HttpMethod; body?: string | null | undefined }): boolean {
  return request.body === null || request.body === undefined || (request.method !== 'GET' && request.method !== 'HEAD');
}
export const BODY_FITS_METHOD = { message: 'GET and HEAD requests carry no body', path: ['body'] };

/** A request to relay through a platform's page, as the host hands it to the add-on. */
export const RelayRequestSchema = z.object({
  requestId: RequestIdSchema,
  platform: PlatformIdSchema,
  clientId: ClientIdSchema,
  method: HttpMethodSchema,
  path: RelativePathSchema,
  headers: RequestHeadersSchema.default({}),
  body: z.string().max(8 * 1024 * 1024).nullable().default(null),
  stream: z.boolean().default(false),
  /** Reject at once (rate_limited / backoff_active with retry_after_ms) instead of waiting longer than this. */
  maxWaitMs: z.number().int().min(0).max(3_600_000).nullable().default(null),
}).refine(bodyFitsMethod, BODY_FITS_METHOD);
export type RelayRequest = z.infer<typeof RelayRequestSchema>;
export type RelayRequestInput = z.input<typeof RelayRequestSchema>;

/**
 * The final answer to a relayed request. Bodies too big for one native message (and every
 * streamed body) arrive as `relay.chunk` events first; then `body` is null and `chunked` true.
 */
export const RelayResponseSchema = z.object({
  requestId: RequestIdSchema,
  status: z.number().int().min(100).max(599),
  headers: HeadersSchema,
  body: z.string().nullable(),
  bodyLength: z.number().int().min(0),
  chunked: z.boolean(),
  admission: AdmissionSchema,
});
export type RelayResponse = z.infer<typeof RelayResponseSchema>;

/** One piece of a streamed or chunked body, in order of `seq` (0, 1, 2, …). */
export const RelayChunkSchema = z.object({
  requestId: RequestIdSchema,
  seq: z.number().int().min(0),
  data: z.string(),
});
export type RelayChunk = z.infer<typeof RelayChunkSchema>;

/** What a broken stream had delivered; carried in the details of a stream_error. */
export const PartialStreamSchema = z.object({
  receivedChunks: z.number().int().min(0),
  receivedBytes: z.number().int().min(0),
  lastSeq: z.number().int().min(-1),
  status: z.number().int().nullable(),
});
export type PartialStream = z.infer<typeof PartialStreamSchema>;

/** What a request had delivered before any byte arrived. */
export function emptyPartial(): PartialStream {
  return { receivedChunks: 0, receivedBytes: 0, lastSeq: -1, status: null };
}
