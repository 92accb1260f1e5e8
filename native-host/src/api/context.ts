import type { JournalEntry, JournalOutcome } from '../../../shared/journal.js';
import type { ApiInfoSchema, ExtensionMethod, ExtensionPayload, ExtensionResult, HostStatus } from '../../../shared/messages.js';
import type { RelayChunk } from '../../../shared/relay.js';
import type { PolicyFileRead } from '../policy-file.js';
import type { ApiLimits } from './api-limits.js';
import type { z } from 'zod';

/** Structured log sink; never handed secrets (headers, bodies, tokens). */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The add-on on the other end of the host's stdio, as the API sees it. */
export interface ExtensionLink {
  /** True while the add-on has said hello and the pipe is open. */
  readonly connected: boolean;
  /** Sends a request to the add-on; rejects with ConductorError (extension_unavailable when not connected). */
  request<M extends ExtensionMethod>(type: M, payload: ExtensionPayload<M>, options?: { timeoutMs?: number }): Promise<ExtensionResult<M>>;
  /** Routes the `relay.chunk` events of one request to a listener until unsubscribed. */
  onChunk(requestId: string, listener: (chunk: RelayChunk) => void): () => void;
}

/** The request journal as the API uses it; every write is committed when the call returns. */
export interface JournalAccess {
  record(entries: JournalEntry[]): void;
  get(requestId: string): JournalEntry | null;
  list(query: { limit: number; platform: string | null; outcome?: JournalOutcome }): JournalEntry[];
}

export type ApiInfo = z.infer<typeof ApiInfoSchema>;

/** What the host hands the loopback API when it starts it. */
export interface ApiContext {
  dataDir: string;
  /** From CONDUCTOR_FX_API_PORT, else 7311; 0 picks a free port (tests). */
  port: number;
  /** The API's bounds; DEFAULT_API_LIMITS when absent (tests shrink them). */
  limits?: Partial<ApiLimits>;
  extension: ExtensionLink;
  journal: JournalAccess;
  hostStatus(): HostStatus;
  /** Reads policy.json again (and keeps it as the host's current one). */
  reloadPolicy(): PolicyFileRead;
  log: Logger;
  now(): number;
}

/** A running API server. */
export interface ApiServer {
  readonly info: ApiInfo;
  close(): Promise<void>;
}
