import { z } from 'zod';
import { JournalEntrySchema, RequestIdSchema } from './journal.js';
import { ClientIdSchema, PlatformIdSchema } from './platforms.js';
import { PolicyFileStateSchema } from './policy-config.js';
import { LoadedPolicyStateSchema, PolicyAdmissionSchema, PolicyChangesSchema } from './policy-state.js';
import { RecoveryReportSchema } from './recovery.js';
import { RelayChunkSchema, RelayRequestSchema, RelayResponseSchema } from './relay.js';
import { BrowserStatusSchema } from './status.js';

/** Firefox refuses host→add-on messages above 1 MiB; the host keeps every frame under this. */
export const MAX_HOST_TO_EXTENSION_BYTES = 1024 * 1024;

/** A request/response pair: one schema for what is asked, one for what comes back. */
interface MethodSchemas {
  payload: z.ZodType;
  result: z.ZodType;
}

const Empty = z.object({}).strict();

/** The loopback API as the host runs it. */
export const ApiInfoSchema = z.object({
  listening: z.boolean(),
  port: z.number().int().nullable(),
  error: z.string().nullable(),
});

/** The host's own status. */
export const HostStatusSchema = z.object({
  hostVersion: z.string(),
  schemaVersion: z.number().int(),
  dbPath: z.string(),
  dataDir: z.string(),
  pid: z.number().int(),
  startedAt: z.number().int(),
  recovery: RecoveryReportSchema,
  api: ApiInfoSchema,
  lastSavedAt: z.number().int().nullable(),
  extensionConnected: z.boolean(),
  /** policy.json as last read (at start, each hello, each reload). */
  policy: PolicyFileStateSchema,
});
export type HostStatus = z.infer<typeof HostStatusSchema>;

/** Requests the add-on sends and the host serves. */
export const HOST_METHODS = {
  ping: {
    payload: Empty,
    result: z.object({ hostVersion: z.string(), schemaVersion: z.number().int() }),
  },
  hello: {
    payload: z.object({ extensionVersion: z.string().max(64), clientId: ClientIdSchema }),
    result: z.object({
      hostVersion: z.string(),
      schemaVersion: z.number().int(),
      dbPath: z.string(),
      recovery: RecoveryReportSchema,
      api: ApiInfoSchema,
      /** policy.json, read again for this hello. */
      policy: PolicyFileStateSchema,
    }),
  },
  'policy.load': {
    payload: z.object({ cursor: z.string().max(256).nullable().default(null), limit: z.number().int().min(1).max(5_000).default(500) }),
    /** One page of stored entries; `nextCursor` null on the last page. */
    result: LoadedPolicyStateSchema.extend({ nextCursor: z.string().nullable() }),
  },
  'policy.save': {
    payload: PolicyChangesSchema,
    result: z.object({ savedAt: z.number().int() }),
  },
  /** The write-ahead of one dispatch; committed before the reply. */
  'policy.admit': {
    payload: PolicyAdmissionSchema,
    result: z.object({ savedAt: z.number().int() }),
  },
  'journal.record': {
    /** Upserts by request id; committed before the reply (an `admitted` row is the write-ahead of a dispatch). */
    payload: z.object({ entries: z.array(JournalEntrySchema).min(1).max(500) }),
    result: z.object({ recorded: z.number().int() }),
  },
  'journal.list': {
    payload: z.object({ limit: z.number().int().min(1).max(1_000).default(100), platform: PlatformIdSchema.nullable().default(null) }),
    result: z.object({ entries: z.array(JournalEntrySchema) }),
  },
  'journal.get': {
    payload: z.object({ requestId: RequestIdSchema }),
    result: z.object({ entry: JournalEntrySchema.nullable() }),
  },
  'status.get': {
    payload: Empty,
    result: HostStatusSchema,
  },
} as const satisfies Record<string, MethodSchemas>;

/** Requests the host sends and the add-on serves (on behalf of automation clients). */
export const EXTENSION_METHODS = {
  'relay.request': { payload: RelayRequestSchema, result: RelayResponseSchema },
  'relay.cancel': { payload: z.object({ requestId: RequestIdSchema }), result: z.object({ cancelled: z.boolean() }) },
  'browser.status': { payload: Empty, result: BrowserStatusSchema },
  'control.reset': {
    payload: z.object({ platform: PlatformIdSchema, clientId: ClientIdSchema }),
    result: z.object({ reset: z.boolean() }),
  },
  'control.pause': { payload: z.object({ reason: z.string().min(1).max(512) }), result: z.object({ paused: z.literal(true) }) },
  'control.resume': { payload: Empty, result: z.object({ paused: z.literal(false) }) },
  /** policy.json re-read (POST /v1/policy/reload); `applied`: the add-on now runs the file's policy. */
  'policy.configure': { payload: PolicyFileStateSchema, result: z.object({ applied: z.boolean() }) },
} as const satisfies Record<string, MethodSchemas>;

/** Events (no reply) the add-on sends to the host. */
export const EXTENSION_EVENTS = {
  'relay.chunk': RelayChunkSchema,
} as const satisfies Record<string, z.ZodType>;

export type HostMethod = keyof typeof HOST_METHODS;
export type ExtensionMethod = keyof typeof EXTENSION_METHODS;
export type ExtensionEvent = keyof typeof EXTENSION_EVENTS;

export type HostPayload<M extends HostMethod> = z.input<(typeof HOST_METHODS)[M]['payload']>;
export type HostResult<M extends HostMethod> = z.infer<(typeof HOST_METHODS)[M]['result']>;
export type ExtensionPayload<M extends ExtensionMethod> = z.input<(typeof EXTENSION_METHODS)[M]['payload']>;
export type ExtensionResult<M extends ExtensionMethod> = z.infer<(typeof EXTENSION_METHODS)[M]['result']>;
export type ExtensionEventPayload<E extends ExtensionEvent> = z.infer<(typeof EXTENSION_EVENTS)[E]>;
