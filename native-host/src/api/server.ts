import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { join } from 'node:path';
import { API_PORT_FILE } from '../../../shared/api.js';
import { ConductorError } from '../../../shared/errors.js';
import { DATA_DIR_MODE } from '../data-dir.js';
import { checkBearer, loadOrCreateToken } from './auth.js';
import type { ApiContext, ApiInfo, ApiServer } from './context.js';
import { checkLocalCaller } from './guards.js';
import { asConductorError, sendError } from './http-errors.js';
import { type Route, createRoutes, matchRoute } from './routes.js';

/** Only the loopback interface: the API must never be reachable from another machine. */
const LOOPBACK = '127.0.0.1';

function listenError(port: number, err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE') return `port ${port} is in use (another program or conductor-fx host holds it); free it or set CONDUCTOR_FX_API_PORT`;
  if (err.code === 'EACCES') return `port ${port} may not be opened by this user; set CONDUCTOR_FX_API_PORT to a port above 1024`;
  return `could not listen on ${LOOPBACK}:${port} (${err.code ?? 'error'})`;
}

async function listen(server: Server, port: number): Promise<ApiInfo> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => resolve({ listening: false, port, error: listenError(port, err) });
    server.once('error', onError);
    server.listen(port, LOOPBACK, () => {
      server.off('error', onError);
      const address = server.address();
      resolve({ listening: true, port: typeof address === 'object' && address !== null ? address.port : port, error: null });
    });
  });
}

/**
 * The URL of a request target. Only a path is served: resolved against a base, `//x` would name
 * another host (and `//` alone throws), and an absolute URL is a proxy's form; both are bad_path.
 */
export function requestUrl(target = '/'): URL {
  if (target.startsWith('/') && !target.startsWith('//')) {
    try {
      return new URL(`http://${LOOPBACK}${target}`);
    } catch {
      // falls through to bad_path
    }
  }
  throw new ConductorError('bad_path', 'the request target must be a path starting with a single "/"');
}

/**
 * Answers one request: local-caller guard (Host, Origin), bearer token, route. Logs the route,
 * status and time only — never headers, bodies or the token.
 */
async function serve(ctx: ApiContext, token: string, routes: readonly Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = ctx.now();
  let name = 'unmatched';
  try {
    checkLocalCaller(req.headers);
    checkBearer(req.headers.authorization, token);
    const url = requestUrl(req.url);
    const { route, params } = matchRoute(routes, req.method ?? 'GET', url.pathname);
    name = route.name;
    await route.handle({ req, res, url, params });
  } catch (err) {
    const error = asConductorError(err);
    if (error !== err) ctx.log.error('api handler fault', { route: name, fault: err instanceof Error ? err.name : typeof err });
    sendError(res, error);
  } finally {
    if (res.statusCode >= 400) ctx.log.info('api request refused', { route: name, status: res.statusCode, ms: ctx.now() - started });
  }
}

/**
 * Starts the loopback API on 127.0.0.1:ctx.port (0: a free port). A port that cannot be opened
 * does not fail the host: the returned info says why (the popup and `status` show it) and the
 * host keeps serving the add-on. When listening, the port is written to `<dataDir>/api-port`.
 */
export async function startApiServer(ctx: ApiContext): Promise<ApiServer> {
  await mkdir(ctx.dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const token = await loadOrCreateToken(ctx.dataDir);
  const routes = createRoutes(ctx);
  const server = createServer((req, res) => void serve(ctx, token, routes, req, res));
  const info = await listen(server, ctx.port);
  const portFile = join(ctx.dataDir, API_PORT_FILE);
  if (!info.listening) {
    ctx.log.warn('loopback API not listening', { error: info.error });
    return { info, close: async () => undefined };
  }
  await writeFile(portFile, `${info.port}\n`);
  ctx.log.info('loopback API listening', { port: info.port });
  return {
    info,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // The host fails the relays in flight just before closing the API: let those answers (503)
      // go out before the connections are cut, or their callers only see a reset socket.
      await new Promise<void>((resolve) => setImmediate(resolve));
      server.closeAllConnections();
      await closed;
      // Another host may have taken the data dir since; only our own port is removed.
      const current = await readFile(portFile, 'utf8').catch(() => '');
      if (current.trim() === String(info.port)) await rm(portFile, { force: true });
    },
  };
}
