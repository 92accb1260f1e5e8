import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_MAX_BODY_BYTES, type ApiBrowserStatus, type ApiPolicyReloadResponse, ApiJournalQuerySchema, ApiPauseRequestSchema } from '../../../shared/api.js';
import { ConductorError } from '../../../shared/errors.js';
import { ClientIdSchema, PlatformIdSchema } from '../../../shared/platforms.js';
import type { ApiContext } from './context.js';
import { readJsonBody } from './guards.js';
import { jobRoutes } from './job-routes.js';
import { openApiDocument } from './openapi.js';
import { sendJson } from './http-errors.js';
import { KnownPlatforms } from './platforms.js';
import { RelayRoute } from './relay-route.js';
import { parseInput } from './validate.js';

/** One served request: the parsed URL and the path parameters of its route. */
export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
}

/** A route: method, path pattern (groups are the params) and its handler. */
export interface Route {
  name: string;
  method: string;
  pattern: RegExp;
  handle(call: RouteCall): Promise<void>;
}

/** Finds the route for a method and path; not_found when none serves it. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): { route: Route; params: string[] } {
  for (const route of routes) {
    const match = route.pattern.exec(pathname);
    if (match !== null && route.method === method) return { route, params: match.slice(1).map(decodeParam) };
  }
  throw new ConductorError('not_found', `no route ${method} ${pathname}; see the README for the API`);
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ConductorError('bad_payload', 'the path holds malformed percent-encoding');
  }
}

function requireConnected(ctx: ApiContext): void {
  if (!ctx.extension.connected) {
    throw new ConductorError('extension_unavailable', 'no add-on is connected to the host: start Firefox with conductor-fx enabled', { host_status: ctx.hostStatus() });
  }
}

/** Every route of the loopback API, bound to the host's context. */
export function createRoutes(ctx: ApiContext): Route[] {
  const platforms = new KnownPlatforms(ctx.extension);
  const relay = new RelayRoute(ctx, platforms);
  return [
    {
      name: 'browser',
      method: 'GET',
      pattern: /^\/v1\/browser$/,
      async handle({ res, url }) {
        const query = url.searchParams.get('platform');
        const only = query === null ? undefined : parseInput(PlatformIdSchema, query, 'query parameter platform');
        requireConnected(ctx);
        const status = await ctx.extension.request('browser.status', {});
        platforms.learn(status);
        if (only !== undefined) await platforms.check(only);
        const answer: ApiBrowserStatus = {
          ...status,
          accounts: status.accounts.filter((a) => only === undefined || a.platform === only),
          targets: status.targets.filter((t) => only === undefined || t.platform === only),
          tabs: status.tabs.filter((t) => only === undefined || t.platform === only),
          hostStatus: ctx.hostStatus(),
        };
        sendJson(res, 200, answer);
      },
    },
    { name: 'relay', method: 'POST', pattern: /^\/v1\/browser\/request$/, handle: ({ req, res }) => relay.handle(req, res) },
    {
      name: 'reset',
      method: 'POST',
      pattern: /^\/v1\/browser\/targets\/([^/]+)\/([^/]+)\/reset$/,
      async handle({ res, params: [platform, clientId] }) {
        const target = { platform: PlatformIdSchema.safeParse(platform), clientId: ClientIdSchema.safeParse(clientId) };
        if (!target.platform.success || !target.clientId.success) {
          throw new ConductorError('invalid_target', 'the path must name a platform id and a client id: /v1/browser/targets/{platform}/{client_id}/reset');
        }
        await platforms.check(target.platform.data);
        sendJson(res, 200, await ctx.extension.request('control.reset', { platform: target.platform.data, clientId: target.clientId.data }));
      },
    },
    {
      name: 'pause',
      method: 'POST',
      pattern: /^\/v1\/system\/pause$/,
      async handle({ req, res }) {
        const { reason } = parseInput(ApiPauseRequestSchema, await readJsonBody(req, API_MAX_BODY_BYTES), 'request body');
        sendJson(res, 200, await ctx.extension.request('control.pause', { reason }));
      },
    },
    {
      name: 'resume',
      method: 'POST',
      pattern: /^\/v1\/system\/resume$/,
      async handle({ res }) {
        sendJson(res, 200, await ctx.extension.request('control.resume', {}));
        ctx.jobs?.dispatcher.systemResumed();
      },
    },
    {
      name: 'policy-reload',
      method: 'POST',
      pattern: /^\/v1\/policy\/reload$/,
      async handle({ res }) {
        const { state, issues } = ctx.reloadPolicy();
        if (state.error !== null) {
          // The add-on is told too, so its popup shows why the previous policy stays.
          if (ctx.extension.connected) await ctx.extension.request('policy.configure', state).catch(() => undefined);
          throw new ConductorError('bad_payload', `policy.json refused: ${state.error}`, { source: state.source, issues });
        }
        requireConnected(ctx);
        const { applied } = await ctx.extension.request('policy.configure', state);
        const answer: ApiPolicyReloadResponse = { applied, source: state.source, error: null };
        sendJson(res, 200, answer);
      },
    },
    {
      name: 'journal',
      method: 'GET',
      pattern: /^\/v1\/journal$/,
      async handle({ res, url }) {
        const query = parseInput(ApiJournalQuerySchema, Object.fromEntries(url.searchParams), 'query');
        const entries = ctx.journal.list({ limit: query.limit, platform: query.platform ?? null, ...(query.outcome === undefined ? {} : { outcome: query.outcome }) });
        sendJson(res, 200, { entries });
      },
    },
    ...(ctx.jobs === undefined ? [] : jobRoutes(ctx.jobs)),
    {
      name: 'openapi',
      method: 'GET',
      pattern: /^\/v1\/openapi\.json$/,
      async handle({ res }) {
        sendJson(res, 200, openApiDocument());
      },
    },
  ];
}
