import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_MAX_BODY_BYTES, type ApiRelayRequest, ApiRelayRequestSchema, type ApiRelayResponse, SSE_EVENTS, type StreamEnd, type StreamError } from '../../../shared/api.js';
import { ConductorError, isConductorError } from '../../../shared/errors.js';
import type { RelayRequest } from '../../../shared/relay.js';
import type { ApiContext } from './context.js';
import { readJsonBody } from './guards.js';
import { asConductorError, sendError, sendJson } from './http-errors.js';
import { type ApiLimits, apiLimitsOf } from './api-limits.js';
import { IdempotencyRegistry, type Replay, fingerprintOf, identityOf } from './idempotency.js';
import { recordApiRejection, recordLinkLoss } from './journal-writes.js';
import type { KnownPlatforms } from './platforms.js';
import { RelayRun } from './relay-run.js';
import { SseWriter } from './sse.js';
import { parseInput } from './validate.js';

/** The API's request body as the add-on's relay request; a missing request id is made here. */
export function toRelayRequest(input: ApiRelayRequest): RelayRequest {
  return {
    requestId: input.request_id ?? randomUUID(),
    platform: input.platform,
    clientId: input.client_id,
    method: input.method,
    path: input.path,
    headers: input.headers,
    body: input.body,
    stream: input.stream,
    maxWaitMs: input.max_wait_ms,
  };
}

/** Serves POST /v1/browser/request: idempotency, dispatch to the add-on, JSON or SSE answer. */
export class RelayRoute {
  private readonly registry: IdempotencyRegistry<RelayRun>;
  private readonly limits: ApiLimits;
  /** Event-stream answers open now (bounded by limits.maxStreams). */
  private openStreams = 0;

  constructor(
    private readonly ctx: ApiContext,
    private readonly platforms: KnownPlatforms,
  ) {
    this.registry = new IdempotencyRegistry(ctx.journal);
    this.limits = apiLimitsOf(ctx.limits);
  }

  /** Handles one HTTP request to the route. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = toRelayRequest(parseInput(ApiRelayRequestSchema, await readJsonBody(req, API_MAX_BODY_BYTES), 'request body'));
    const fingerprint = fingerprintOf(request);
    const found = this.registry.lookup(request, fingerprint);
    if (found.kind === 'replay') return this.answerReplay(res, request, found.replay);
    if (request.stream && this.openStreams >= this.limits.maxStreams) {
      throw new ConductorError('api_busy', `${this.limits.maxStreams} event streams are open, the most the API serves at once`, { max_streams: this.limits.maxStreams });
    }
    let run: RelayRun;
    if (found.kind === 'join') {
      if (!found.run.joinable) {
        throw new ConductorError('api_busy', `request ${request.requestId} has streamed more than the ${this.limits.joinKeepBytes} bytes kept for late joiners; ask again once it ended (a replay)`, { join_keep_bytes: this.limits.joinKeepBytes });
      }
      this.ctx.log.info('request joined its relay in flight', { requestId: request.requestId });
      run = found.run;
    } else {
      run = this.start(request, fingerprint);
    }
    return request.stream ? this.answerStream(res, run) : this.answerJson(res, run);
  }

  private start(request: RelayRequest, fingerprint: string): RelayRun {
    const { ctx } = this;
    const run = new RelayRun(request, fingerprint, ctx.extension, ctx.log, () => this.preflight(request), this.limits.joinKeepBytes);
    this.registry.begin(request.requestId, run);
    const identity = identityOf(request);
    run.result.then(
      ({ response }) => this.registry.finish(request.requestId, identity, { ok: true, status: response.status, admission: response.admission }),
      (err: unknown) => {
        const error = asConductorError(err);
        if (run.dispatched && error.code === 'extension_unavailable') recordLinkLoss(ctx.journal, request, ctx.now());
        this.registry.finish(request.requestId, identity, { ok: false, error });
      },
    );
    return run;
  }

  /** The checks the API makes itself; what it refuses is journaled as `rejected`. */
  private async preflight(request: RelayRequest): Promise<void> {
    const { ctx } = this;
    try {
      if (!ctx.extension.connected) {
        throw new ConductorError('extension_unavailable', 'no add-on is connected to the host: start Firefox with conductor-fx enabled');
      }
      await this.platforms.check(request.platform);
    } catch (err) {
      if (isConductorError(err, 'extension_unavailable', 'unknown_platform')) recordApiRejection(ctx.journal, request, err.code, ctx.now());
      throw err;
    }
  }

  private async answerJson(res: ServerResponse, run: RelayRun): Promise<void> {
    const detach = run.attach();
    res.once('close', detach);
    try {
      const { response, body } = await run.result;
      const answer: ApiRelayResponse = { request_id: response.requestId, status: response.status, headers: response.headers, body, admission: response.admission, replayed: false };
      sendJson(res, 200, answer);
    } catch (err) {
      sendError(res, err);
    } finally {
      detach();
    }
  }

  private async answerStream(res: ServerResponse, run: RelayRun): Promise<void> {
    this.openStreams += 1;
    res.once('close', () => {
      this.openStreams -= 1;
    });
    const sse = new SseWriter(res);
    const detach = run.attach((event) => sse.send(SSE_EVENTS.event, event, event.seq));
    res.once('close', detach);
    try {
      const { response } = await run.result;
      const end: StreamEnd = { request_id: response.requestId, status: response.status, headers: response.headers, body_length: response.bodyLength, admission: response.admission, replayed: false };
      sse.send(SSE_EVENTS.end, end);
      sse.end();
    } catch (err) {
      if (!sse.opened) return sendError(res, err);
      const error = asConductorError(err);
      const broken: StreamError = { code: error.code, message: error.message, partial: run.partial() };
      sse.send(SSE_EVENTS.error, error.details === undefined ? broken : { ...broken, details: error.details });
      sse.end();
    } finally {
      detach();
    }
  }

  /** A repeat of a finished request: its recorded status and admission (no headers or body are kept). */
  private answerReplay(res: ServerResponse, request: RelayRequest, replay: Replay): void {
    if (!replay.ok) return sendError(res, replay.error);
    const { requestId } = request;
    if (request.stream) {
      const sse = new SseWriter(res);
      const end: StreamEnd = { request_id: requestId, status: replay.status, headers: {}, body_length: null, admission: replay.admission, replayed: true };
      sse.send(SSE_EVENTS.end, end);
      sse.end();
      return;
    }
    const answer: ApiRelayResponse = { request_id: requestId, status: replay.status, headers: {}, body: null, admission: replay.admission, replayed: true };
    sendJson(res, 200, answer);
  }
}
