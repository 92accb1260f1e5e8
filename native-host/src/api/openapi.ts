import { z } from 'zod';
import {
  ApiBrowserStatusSchema,
  ApiErrorResponseSchema,
  ApiJournalQuerySchema,
  ApiJournalResponseSchema,
  ApiPausedResponseSchema,
  ApiPauseRequestSchema,
  ApiPolicyReloadResponseSchema,
  ApiRelayRequestSchema,
  ApiRelayResponseSchema,
  ApiResetResponseSchema,
  SSE_EVENTS,
} from '../../../shared/api.js';
import {
  ApiConversationAutoSchema,
  ApiConversationListQuerySchema,
  ApiConversationListResponseSchema,
  ApiConversationPauseSchema,
  ApiConversationSchema,
  ApiRenewalJobsQuerySchema,
} from '../../../shared/conversations.js';
import {
  ApiJobAcceptedSchema,
  ApiJobDetailSchema,
  ApiJobListQuerySchema,
  ApiJobListResponseSchema,
  ApiJobRequestSchema,
  ApiJobSchema,
  JOB_SSE_EVENTS,
} from '../../../shared/jobs.js';
import { PlatformIdSchema } from '../../../shared/platforms.js';

/** One operation of the loopback API, described by its zod schemas. */
interface Operation {
  method: 'get' | 'post';
  path: string;
  summary: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body may be left out. */
  bodyOptional?: boolean;
  /** Status → its JSON answer's schema and/or the event names of its event stream. */
  responses: Record<number, Answer>;
}

/** One answer: JSON of a schema, an event stream (text/event-stream) of named events, or either. */
interface Answer {
  json?: z.ZodType;
  events?: readonly string[];
}

/** The version of the API this document describes (the /v1 of its paths). */
export const API_DOC_VERSION = '1.0.0';

const PathParam = z.string().min(1);

/**
 * Every operation of the loopback API. The OpenAPI document is generated from this table and the
 * schemas in shared/ (never written by hand); api/openapi.test.ts checks each served route is here.
 */
export const API_OPERATIONS: readonly Operation[] = [
  { method: 'get', path: '/v1/browser', summary: 'The browser status (popup document) and the host status', query: z.object({ platform: PlatformIdSchema.optional() }), responses: { 200: { json: ApiBrowserStatusSchema } } },
  {
    method: 'post',
    path: '/v1/browser/request',
    summary: 'Relay one request through the logged-in page (JSON answer, or an event stream with stream: true)',
    body: ApiRelayRequestSchema,
    responses: { 200: { json: ApiRelayResponseSchema, events: Object.values(SSE_EVENTS) } },
  },
  { method: 'post', path: '/v1/browser/targets/{platform}/{client_id}/reset', summary: "Reset a target's circuit and backoff", responses: { 200: { json: ApiResetResponseSchema } } },
  { method: 'post', path: '/v1/system/pause', summary: 'Pause all dispatch', body: ApiPauseRequestSchema, responses: { 200: { json: ApiPausedResponseSchema } } },
  { method: 'post', path: '/v1/system/resume', summary: 'Resume dispatch', responses: { 200: { json: ApiPausedResponseSchema } } },
  { method: 'post', path: '/v1/policy/reload', summary: 'Re-read policy.json and apply it in the add-on', responses: { 200: { json: ApiPolicyReloadResponseSchema } } },
  { method: 'get', path: '/v1/journal', summary: 'The request journal, newest first', query: ApiJournalQuerySchema, responses: { 200: { json: ApiJournalResponseSchema } } },
  { method: 'post', path: '/v1/jobs', summary: 'Submit a durable job (stored before the answer; 200 when the idempotency key named it already)', body: ApiJobRequestSchema, responses: { 202: { json: ApiJobAcceptedSchema }, 200: { json: ApiJobAcceptedSchema } } },
  { method: 'get', path: '/v1/jobs', summary: 'Jobs, newest first, paged', query: ApiJobListQuerySchema, responses: { 200: { json: ApiJobListResponseSchema } } },
  { method: 'get', path: '/v1/jobs/{job_id}', summary: 'A job with its attempts and stored answer', responses: { 200: { json: ApiJobDetailSchema } } },
  { method: 'post', path: '/v1/jobs/{job_id}/cancel', summary: 'Cancel a pending or running job', responses: { 200: { json: ApiJobSchema } } },
  { method: 'get', path: '/v1/jobs/{job_id}/events', summary: "A job's events until it ends (event stream)", responses: { 200: { events: Object.values(JOB_SSE_EVENTS) } } },
  { method: 'get', path: '/v1/conversations', summary: 'Conversations under automation', query: ApiConversationListQuerySchema, responses: { 200: { json: ApiConversationListResponseSchema } } },
  { method: 'get', path: '/v1/conversations/{conversation_id}', summary: 'One conversation', responses: { 200: { json: ApiConversationSchema } } },
  { method: 'post', path: '/v1/conversations/{conversation_id}/auto', summary: 'Set the conversation to auto, optionally with a renewal schedule', body: ApiConversationAutoSchema, bodyOptional: true, responses: { 200: { json: ApiConversationSchema } } },
  ...(['manual', 'resume'] as const).map((action): Operation => ({ method: 'post', path: `/v1/conversations/{conversation_id}/${action}`, summary: `Set the conversation ${action === 'resume' ? 'back to its status before the pause' : `to ${action}`}`, responses: { 200: { json: ApiConversationSchema } } })),
  { method: 'post', path: '/v1/conversations/{conversation_id}/pause', summary: 'Pause the conversation (its jobs wait)', body: ApiConversationPauseSchema, bodyOptional: true, responses: { 200: { json: ApiConversationSchema } } },
  { method: 'get', path: '/v1/renewal/jobs', summary: 'Renewal jobs, newest first, paged', query: ApiRenewalJobsQuerySchema, responses: { 200: { json: ApiJobListResponseSchema } } },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document', responses: { 200: { json: z.record(z.string(), z.unknown()) } } },
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function operationObject(op: Operation): Record<string, unknown> {
  const parameters = [
    ...[...op.path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: jsonSchema(PathParam, 'input') })),
    ...Object.entries(op.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: jsonSchema(schema as z.ZodType, 'input'),
    })),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(op.responses)) {
    const content: Record<string, unknown> = {};
    if (answer.json !== undefined) content['application/json'] = { schema: jsonSchema(answer.json, 'output') };
    if (answer.events !== undefined) content['text/event-stream'] = { schema: { type: 'string', description: `events: ${answer.events.join(', ')}` } };
    responses[status] = { description: answer.events === undefined ? 'OK' : `OK; an event stream of ${answer.events.join(', ')}`, content };
  }
  responses['default'] = { description: 'An error from the closed set of PROTOCOL.md', content: { 'application/json': { schema: jsonSchema(ApiErrorResponseSchema, 'output') } } };
  return {
    summary: op.summary,
    operationId: `${op.method}${op.path.replace(/[{}]/g, '').split(/[/._-]/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')}`,
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(op.body === undefined ? {} : { requestBody: { required: op.bodyOptional !== true, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } }),
    responses,
  };
}

/** The OpenAPI 3.1 document of the loopback API, generated from API_OPERATIONS. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of API_OPERATIONS) (paths[op.path] ??= {})[op.method] = operationObject(op);
  return {
    openapi: '3.1.0',
    info: {
      title: 'conductor-fx loopback API',
      version: API_DOC_VERSION,
      description: 'The host\'s API on 127.0.0.1 (port in <data dir>/api-port). Every call sends Authorization: Bearer <data dir>/api-token. Errors: PROTOCOL.md.',
    },
    servers: [{ url: 'http://127.0.0.1:7311' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
