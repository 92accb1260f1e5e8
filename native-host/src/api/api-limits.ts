/**
 * The loopback API's bounds (README "Limits"). Any local user can open connections to
 * 127.0.0.1, token or not, so each resource a caller can hold is capped.
 */
export interface ApiLimits {
  /** Open connections per listener (TCP, Unix socket); more are closed at once by the kernel-side accept. */
  maxConnections: number;
  /** Open event-stream answers at once; one more is `503 api_busy`. */
  maxStreams: number;
  /** A connection must have sent its request's headers within this long (an idle new connection too). */
  headersTimeoutMs: number;
  /** …and its whole request (headers and body) within this long. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Bytes of a stream in flight kept for callers that join it late; past it, a late joiner gets api_busy. */
  joinKeepBytes: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  maxConnections: 64,
  maxStreams: 16,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  joinKeepBytes: 4 * 1024 * 1024,
};

/** The limits a server runs with: the defaults, with what the context sets instead. */
export function apiLimitsOf(overrides: Partial<ApiLimits> | undefined): ApiLimits {
  return { ...DEFAULT_API_LIMITS, ...overrides };
}
