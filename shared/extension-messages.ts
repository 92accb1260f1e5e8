import { z } from 'zod';
import { HttpMethodSchema, RequestIdSchema } from './journal.js';
import { ClientIdSchema, PlatformIdSchema } from './platforms.js';
import { HeadersSchema, RequestHeadersSchema } from './headers.js';
import { PartialStreamSchema, RelativePathSchema } from './relay.js';
import { BrowserStatusSchema } from './status.js';

/**
 * Messages inside the add-on: the background talks to each page proxy (content script) over a
 * runtime.Port per tab, and to the popup over a runtime.Port. Every message is validated on
 * arrival; the background also checks the sender.
 */
export const PAGE_PROXY_PORT = 'conductor-fx/page-proxy';
export const POPUP_PORT = 'conductor-fx/popup';

// background → page proxy

export const ProxyFetchSchema = z.object({
  type: z.literal('proxy.fetch'),
  requestId: RequestIdSchema,
  method: HttpMethodSchema,
  path: RelativePathSchema,
  headers: RequestHeadersSchema,
  body: z.string().nullable(),
  stream: z.boolean(),
  /** The page gives up when no byte arrives for this long (upstream_timeout). */
  idleTimeoutMs: z.number().int().min(1),
});

export const ProxyAbortSchema = z.object({ type: z.literal('proxy.abort'), requestId: RequestIdSchema });

export const ToPageProxySchema = z.discriminatedUnion('type', [ProxyFetchSchema, ProxyAbortSchema]);
export type ToPageProxy = z.infer<typeof ToPageProxySchema>;

// page proxy → background

export const ProxyChunkSchema = z.object({
  type: z.literal('proxy.chunk'),
  requestId: RequestIdSchema,
  seq: z.number().int().min(0),
  data: z.string(),
});

/** The upstream answered: status and headers, then the body (whole when not streamed). */
export const ProxyEndSchema = z.object({
  type: z.literal('proxy.end'),
  requestId: RequestIdSchema,
  status: z.number().int().min(100).max(599),
  headers: HeadersSchema,
  /** The whole body when not streamed; null when it came as proxy.chunk messages. */
  body: z.string().nullable(),
  bodyLength: z.number().int().min(0),
});

/** The fetch failed, timed out, was aborted, or the stream broke off after `partial`. */
export const ProxyErrorSchema = z.object({
  type: z.literal('proxy.error'),
  requestId: RequestIdSchema,
  code: z.enum(['network_error', 'upstream_timeout', 'cancelled', 'stream_error', 'bad_path', 'cross_origin_redirect']),
  message: z.string().max(1024),
  partial: PartialStreamSchema,
});

export const FromPageProxySchema = z.discriminatedUnion('type', [ProxyChunkSchema, ProxyEndSchema, ProxyErrorSchema]);
export type FromPageProxy = z.infer<typeof FromPageProxySchema>;

// background ↔ popup

export const PopupStatusSchema = z.object({ type: z.literal('status'), status: BrowserStatusSchema });
export type PopupStatus = z.infer<typeof PopupStatusSchema>;

export const PopupCommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reset'), platform: PlatformIdSchema, clientId: ClientIdSchema }),
  z.object({ type: z.literal('pause'), reason: z.string().min(1).max(512) }),
  z.object({ type: z.literal('resume') }),
]);
export type PopupCommand = z.infer<typeof PopupCommandSchema>;
