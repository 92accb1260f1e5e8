import { z } from 'zod';

/**
 * The one closed set of error codes that crosses any boundary (native port, content-script port,
 * loopback API). PROTOCOL.md renders this table; a test keeps the two identical.
 * `http` is the status the loopback API answers with when the error reaches an automation client.
 */
export const ERROR_TABLE = {
  // framing and envelope (native messaging)
  bad_json: { http: 400, meaning: 'The frame was not valid UTF-8 JSON.', action: 'Fix the sender; the host keeps serving the next frame.' },
  bad_envelope: { http: 400, meaning: 'The JSON did not match the envelope schema ({v:1, kind, id, type, payload}).', action: 'Fix the sender; check the protocol version.' },
  unknown_type: { http: 400, meaning: 'The message type is not one this side serves.', action: 'Upgrade the older side so both speak the same protocol.' },
  bad_payload: { http: 400, meaning: 'The payload failed its schema; details.issues lists the fields.', action: 'Correct the named fields and send again.' },
  too_large: { http: 413, meaning: 'A message or body is over its size cap (1 MiB host to add-on, the API body cap).', action: 'Page the request or send a smaller body.' },
  timeout: { http: 504, meaning: 'The other side did not answer a request in time.', action: 'Retry later; check that the host / add-on is alive.' },
  internal_error: { http: 500, meaning: 'An unexpected fault; the message carries no secrets.', action: 'Report it with the host log; the state on disk is intact.' },
  // storage (native host)
  db_locked: { http: 503, meaning: 'Another live host owns this data dir; details.pid names it.', action: 'Close the other Firefox profile / window, or point CONDUCTOR_FX_DATA_DIR elsewhere.' },
  db_error: { http: 500, meaning: 'SQLite refused a read or write (corrupt file, I/O error).', action: 'See the host log; restore the data dir from a backup if it persists.' },
  disk_full: { http: 507, meaning: 'The disk is full; nothing of the failed write was kept.', action: 'Free disk space, then retry.' },
  data_dir_not_private: { http: 500, meaning: 'The data dir belongs to another user, or a file in it cannot be made private (0600); the host uses nothing in it.', action: 'Point CONDUCTOR_FX_DATA_DIR at a directory of your own, or give the named file back to your user.' },
  // connectivity
  host_unavailable: { http: 503, meaning: 'The native host is not running or not registered.', action: 'Run `npm run install-host -- status` and fix what it reports.' },
  extension_unavailable: { http: 503, meaning: 'No add-on is connected to the host (Firefox is closed or the add-on is disabled).', action: 'Start Firefox with conductor-fx enabled.' },
  // policy admission
  invalid_target: { http: 400, meaning: 'The client id or platform is empty or malformed.', action: 'Send a non-empty client id and a configured platform.' },
  unknown_platform: { http: 404, meaning: 'The platform is not configured.', action: 'Use one of the configured platforms (see GET /v1/browser).' },
  circuit_open: { http: 429, meaning: 'The circuit for this target is open after repeated failures.', action: 'Wait details.retry_after_ms (Retry-After) before sending again.' },
  circuit_half_open_busy: { http: 429, meaning: 'The circuit is half-open and its single probe is in flight.', action: 'Wait for the probe to finish; retry after details.retry_after_ms.' },
  rate_limited: { http: 429, meaning: 'The platform window is full and the wait would exceed max_wait_ms.', action: 'Wait details.retry_after_ms (Retry-After).' },
  backoff_active: { http: 429, meaning: 'The target is backing off after a failure and the wait would exceed max_wait_ms.', action: 'Wait details.retry_after_ms (Retry-After).' },
  waiter_timeout: { http: 429, meaning: 'The request waited for a free slot longer than the waiter timeout.', action: 'Send fewer concurrent requests to this target, then retry.' },
  paused: { http: 503, meaning: 'All dispatch is paused by the user; details.reason says why.', action: 'Resume (POST /v1/system/resume or the popup) when it is safe.' },
  cancelled: { http: 499, meaning: 'The caller aborted the request; the lease was released.', action: 'Nothing; send again if still wanted.' },
  lease_reclaimed: { http: 504, meaning: 'The lease went idle past the stale timeout and was reclaimed.', action: 'Retry later; the target counts it as a failure.' },
  interrupted: { http: 409, meaning: 'The request was in flight when the browser or host stopped; its outcome is unknown.', action: 'Check the platform before re-sending under a new request id.' },
  duplicate_request: { http: 409, meaning: 'The request id is known with different parameters.', action: 'Use a fresh request id for a different request.' },
  // relay through the page
  no_tab: { http: 409, meaning: 'No open, logged-in tab of that platform (or of that client) is available; nothing was dispatched.', action: 'Open the platform in Firefox and log in.' },
  bad_path: { http: 400, meaning: 'The path is not a same-origin relative path.', action: 'Send a path starting with a single "/".' },
  cross_origin_redirect: { http: 502, meaning: 'The platform answered with a redirect. The page follows none: Firefox hides where it points, so it could leave the platform with the body and the cookies.', action: 'Send the request to the final path on the platform itself.' },
  auth_required: { http: 502, meaning: 'The platform answered 401/403: the session is logged out.', action: 'Log in to the platform in Firefox.' },
  upstream_429: { http: 429, meaning: 'The platform itself rate-limited the request; backoff honours its Retry-After.', action: 'Wait details.retry_after_ms.' },
  upstream_5xx: { http: 502, meaning: 'The platform answered with a server error.', action: 'Retry later; the circuit opens if it repeats.' },
  network_error: { http: 502, meaning: 'The page could not reach the platform (offline, DNS, reset).', action: 'Check the connection; retry later.' },
  upstream_timeout: { http: 504, meaning: 'The platform did not answer (or the stream went idle) in time.', action: 'Retry later.' },
  stream_error: { http: 502, meaning: 'A streaming response broke off; details carries what was received.', action: 'Use the partial result or retry under a new request id.' },
  // loopback API
  unauthorized: { http: 401, meaning: 'The bearer token is missing or wrong.', action: 'Send Authorization: Bearer <data dir>/api-token.' },
  forbidden_origin: { http: 403, meaning: 'The Host is not a loopback name, or a browser Origin was sent.', action: 'Call the API from a local program at 127.0.0.1, not from a web page.' },
  not_found: { http: 404, meaning: 'No such API route or record.', action: 'Check the path against the README.' },
  api_port_in_use: { http: 503, meaning: 'The loopback API could not listen on its port.', action: 'Free the port or set CONDUCTOR_FX_API_PORT.' },
  api_busy: { http: 503, meaning: 'The loopback API is at one of its bounds: open event streams, or what a stream in flight keeps for callers joining late.', action: 'Close streams you no longer read, or wait for the stream to end and ask again (a replay).' },
} as const satisfies Record<string, { http: number; meaning: string; action: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;
export const ERROR_CODES = Object.keys(ERROR_TABLE) as [ErrorCode, ...ErrorCode[]];
export const ErrorCodeSchema = z.enum(ERROR_CODES);

/** The error body every boundary carries. */
export const ErrorBodySchema = z.object({
  code: ErrorCodeSchema,
  message: z.string().max(4096),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** A typed error that carries a code from the closed set; what every module throws across a boundary. */
export class ConductorError extends Error {
  override readonly name = 'ConductorError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The wire form of this error. */
  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** `err` itself when it is a ConductorError, else an internal_error with `message` (the cause's text may hold secrets). */
  static from(err: unknown, message: string): ConductorError {
    return err instanceof ConductorError ? err : new ConductorError('internal_error', message);
  }

  /** Rebuilds a ConductorError from its wire form. */
  static fromBody(body: ErrorBody): ConductorError {
    return new ConductorError(body.code, body.message, body.details);
  }
}

/** Whether a value is a ConductorError with one of the given codes. */
export function isConductorError(err: unknown, ...codes: ErrorCode[]): err is ConductorError {
  return err instanceof ConductorError && (codes.length === 0 || codes.includes(err.code));
}
