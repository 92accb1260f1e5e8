import type { ServerResponse } from 'node:http';
import type { ApiErrorResponse } from '../../../shared/api.js';
import { ConductorError, ERROR_TABLE } from '../../../shared/errors.js';

/** An HTTP answer for an error: status, extra headers and the JSON error body. */
export interface HttpError {
  status: number;
  headers: Record<string, string>;
  body: ApiErrorResponse;
}

/** Any thrown value as a ConductorError; faults that are not one become a secret-free internal_error. */
export function asConductorError(err: unknown): ConductorError {
  return ConductorError.from(err, 'internal error in the loopback API; see the host log');
}

/** The retry wait an error carries in details.retry_after_ms, when it carries a usable one. */
export function retryAfterMs(err: ConductorError): number | undefined {
  const value = err.details?.['retry_after_ms'];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Maps an error to its status (ERROR_TABLE[code].http); 429 and 503 carry Retry-After in whole seconds. */
export function toHttpError(err: unknown): HttpError {
  const error = asConductorError(err);
  const status = ERROR_TABLE[error.code].http;
  const wait = retryAfterMs(error);
  const headers: Record<string, string> = {};
  if (wait !== undefined && (status === 429 || status === 503)) headers['retry-after'] = String(Math.max(1, Math.ceil(wait / 1000)));
  const body: ApiErrorResponse = { error: wait === undefined ? error.toBody() : { ...error.toBody(), retry_after_ms: wait } };
  return { status, headers, body };
}

/** Writes a JSON answer and ends the response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), 'cache-control': 'no-store' });
  res.end(json);
}

/** Answers with an error; when the headers already went out (a stream), the connection is just ended. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const { status, headers, body } = toHttpError(err);
  sendJson(res, status, body, headers);
}
