import { lstat, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { join } from 'node:path';
import { API_PORT_FILE, API_PROOF_PATH, API_SOCKET_FILE, ApiProofNonceSchema, type ApiProofResponse } from '../../../shared/api.js';
import { ConductorError } from '../../../shared/errors.js';
import { DATA_DIR_MODE } from '../data-dir.js';
import { type ApiLimits, apiLimitsOf } from './api-limits.js';
import { apiProof } from './api-proof.js';
import { checkBearer, loadOrCreateToken } from './auth.js';
import type { ApiContext, ApiInfo, ApiServer } from './context.js';
import { checkLocalCaller } from './guards.js';
import { asConductorError, sendError, sendJson } from './http-errors.js';
import { type Route, createRoutes, matchRoute } from './routes.js';
import { parseInput } from './validate.js';

/** Only the loopback interface: the API must never be reachable from another machine. */
const LOOPBACK = '127.0.0.1';

/** sun_path holds 104 bytes on macOS (108 on Linux); a longer socket path cannot be bound. */
const MAX_SOCKET_PATH_BYTES = 103;

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
 * Listens on `<dataDir>/api.sock` (not on Windows). A socket left by a host that died is removed
 * first: the caller holds the data dir's lock, so no live host owns it. Resolves with the
 * reason when it cannot listen; the TCP port still serves.
 */
async function listenOnSocket(server: Server, path: string): Promise<string | null> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) return `the socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`;
  const old = await lstat(path).catch(() => null);
  if (old !== null) {
    if (!old.isSocket()) return `${path} exists and is not a socket; remove it`;
    await unlink(path);
  }
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => resolve(`could not listen on ${path} (${err.code ?? 'error'})`);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve(null);
    });
  });
}

/** An HTTP server with the API's bounds on connections and on how long a request may take to arrive. */
function boundedServer(limits: ApiLimits, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node looks for connections past those timeouts.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/**
 * GET /v1/auth/proof?nonce=…, the one call answered without the token: the HMAC of the nonce and
 * the port this connection reached, so a TCP client learns it talks to the host holding its
 * token before it sends that token.
 */
function answerProof(token: string, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const nonce = parseInput(ApiProofNonceSchema, url.searchParams.get('nonce'), 'query parameter nonce');
  const answer: ApiProofResponse = { proof: apiProof(token, req.socket.localPort ?? 0, nonce) };
  sendJson(res, 200, answer);
}

/**
 * Answers one request: local-caller guard (Host, Origin), the proof call, bearer token, route.
 * Logs the route, status and time only — never headers, bodies or the token.
 */
async function serve(ctx: ApiContext, token: string, routes: readonly Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = ctx.now();
  let name = 'unmatched';
  try {
    checkLocalCaller(req.headers);
    const url = requestUrl(req.url);
    if (req.method === 'GET' && url.pathname === API_PROOF_PATH) {
      name = 'proof';
      return answerProof(token, req, res, url);
    }
    checkBearer(req.headers.authorization, token);
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

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/**
 * Starts the loopback API on 127.0.0.1:ctx.port (0: a free port) and, on Linux and macOS, on
 * `<dataDir>/api.sock`. A port that cannot be opened does not fail the host: the returned info
 * says why (the popup and `status` show it) and the host keeps serving the add-on. When
 * listening, the port is written to `<dataDir>/api-port`.
 */
export async function startApiServer(ctx: ApiContext): Promise<ApiServer> {
  await mkdir(ctx.dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const limits = apiLimitsOf(ctx.limits);
  const token = await loadOrCreateToken(ctx.dataDir);
  const routes = createRoutes(ctx);
  const handler = (req: IncomingMessage, res: ServerResponse) => void serve(ctx, token, routes, req, res);
  const tcp = boundedServer(limits, handler);
  const unix = process.platform === 'win32' ? null : boundedServer(limits, handler);
  const socketPath = join(ctx.dataDir, API_SOCKET_FILE);
  const info = await listen(tcp, ctx.port);
  const socketError = unix === null ? null : await listenOnSocket(unix, socketPath);
  if (socketError !== null) ctx.log.warn('API socket not listening; clients use the TCP port with its proof', { error: socketError });
  const portFile = join(ctx.dataDir, API_PORT_FILE);
  if (info.listening) {
    await writeFile(portFile, `${info.port}\n`);
    ctx.log.info('loopback API listening', { port: info.port, socket: unix?.listening === true ? socketPath : null });
  } else {
    ctx.log.warn('loopback API not listening', { error: info.error });
  }
  return {
    info,
    async close() {
      // The host fails the relays in flight just before closing the API: let those answers (503)
      // go out before the connections are cut, or their callers only see a reset socket.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const socketWasOurs = unix?.listening === true;
      await Promise.all([closeServer(tcp), ...(unix === null ? [] : [closeServer(unix)])]);
      if (socketWasOurs) await rm(socketPath, { force: true });
      // Another host may have taken the data dir since; only our own port is removed.
      const current = await readFile(portFile, 'utf8').catch(() => '');
      if (info.listening && current.trim() === String(info.port)) await rm(portFile, { force: true });
    },
  };
}
