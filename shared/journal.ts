import { z } from 'zod';
import { AdmissionSchema } from './admission.js';
import { ClientIdSchema, PlatformIdSchema } from './platforms.js';

export const HttpMethodSchema = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);
export type HttpMethod = z.infer<typeof HttpMethodSchema>;

/** A request id: the caller's idempotency key, or one the host made. */
export const RequestIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'request id may hold letters, digits and . _ : -');

export const JournalOutcomeSchema = z.enum(['admitted', 'success', 'failure', 'cancelled', 'interrupted', 'rejected']);
export type JournalOutcome = z.infer<typeof JournalOutcomeSchema>;

/**
 * One row of the request journal. Never holds headers or bodies: only what identifies the
 * request and how it ended (no cookies, tokens or prompts are stored).
 */
export const JournalEntrySchema = z.object({
  requestId: RequestIdSchema,
  clientId: ClientIdSchema,
  platform: PlatformIdSchema,
  method: HttpMethodSchema,
  /** The path without its query string (queries can carry tokens). */
  path: z.string().max(2048),
  outcome: JournalOutcomeSchema,
  createdAt: z.number().int().min(0),
  admittedAt: z.number().int().min(0).nullable(),
  finishedAt: z.number().int().min(0).nullable(),
  httpStatus: z.number().int().min(100).max(599).nullable(),
  errorCode: z.string().max(64).nullable(),
  admission: AdmissionSchema.nullable(),
});
export type JournalEntry = z.infer<typeof JournalEntrySchema>;

/** The path as the journal stores it: without query string or fragment (queries can carry tokens). */
export function journalPath(path: string): string {
  return path.replace(/[?#].*$/s, '').slice(0, 2048);
}
