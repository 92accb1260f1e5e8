import { z } from 'zod';
import { ErrorBodySchema } from './errors.js';

/** Protocol version carried in every envelope. */
export const PROTOCOL_VERSION = 1 as const;

const Id = z.string().min(1).max(128);
const Type = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/).max(64);

export const RequestEnvelopeSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  kind: z.literal('request'),
  id: Id,
  type: Type,
  payload: z.unknown(),
});

export const EventEnvelopeSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  kind: z.literal('event'),
  id: Id,
  type: Type,
  payload: z.unknown(),
});

export const OkResponseEnvelopeSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  kind: z.literal('response'),
  id: Id,
  type: Type,
  ok: z.literal(true),
  payload: z.unknown(),
});

export const ErrorResponseEnvelopeSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  kind: z.literal('response'),
  id: Id,
  type: Type,
  ok: z.literal(false),
  error: ErrorBodySchema,
});

export const ResponseEnvelopeSchema = z.discriminatedUnion('ok', [OkResponseEnvelopeSchema, ErrorResponseEnvelopeSchema]);

/** Any message on the native port, in either direction. */
export const EnvelopeSchema = z.union([RequestEnvelopeSchema, EventEnvelopeSchema, ResponseEnvelopeSchema]);

export type RequestEnvelope = z.infer<typeof RequestEnvelopeSchema>;
export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;
export type ResponseEnvelope = z.infer<typeof ResponseEnvelopeSchema>;
export type Envelope = z.infer<typeof EnvelopeSchema>;

/**
 * Reads the id of a message that failed validation, so the error response can still be
 * correlated; undefined when no usable id is there.
 */
export function readEnvelopeId(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const id = (raw as { id?: unknown }).id;
  return Id.safeParse(id).success ? (id as string) : undefined;
}

/** Reads the type of a message that failed validation, for its error response; undefined unless the envelope's own type rule holds. */
export function readEnvelopeType(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const type = (raw as { type?: unknown }).type;
  return Type.safeParse(type).success ? (type as string) : undefined;
}
