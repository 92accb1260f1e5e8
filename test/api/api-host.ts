// A really spawned host with the fake add-on connected, and clients of its loopback API.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConductorClient } from '../../client/client.js';
import type { JournalEntry } from '../../shared/journal.js';
import type { RelayRequest, RelayResponse } from '../../shared/relay.js';
import { type ExtensionHandlers, type HostHandle, ensureHostBuilt, startHost } from '../helpers/host-process.js';
import { ADMISSION, fakeBrowserStatus } from './fakes.js';

export interface ApiHost {
  host: HostHandle;
  port: number;
  token: string;
  client: ConductorClient;
  /** The Authorization header value. */
  auth: { authorization: string };
}

/** Answers relay.request at once with a 200 whose body echoes the request. */
export function echoResponse(request: RelayRequest): RelayResponse {
  const body = JSON.stringify({ method: request.method, path: request.path, body: request.body });
  return { requestId: request.requestId, status: 200, headers: { 'content-type': 'application/json' }, body, bodyLength: body.length, chunked: false, admission: ADMISSION };
}

/** The fake add-on's defaults: a status with the mock platform, echoing relays, control methods that succeed. */
export function defaultHandlers(): ExtensionHandlers {
  return {
    'browser.status': () => fakeBrowserStatus(),
    'relay.request': (request) => echoResponse(request),
    'relay.cancel': () => ({ cancelled: true }),
    'control.reset': () => ({ reset: true }),
    'control.pause': () => ({ paused: true as const }),
    'control.resume': () => ({ paused: false as const }),
  };
}

/** Spawns the built host, connects the fake add-on (hello), and reads the token it wrote. */
export async function startApiHost(handlers: ExtensionHandlers = {}, options: { hello?: boolean } = {}): Promise<ApiHost> {
  await ensureHostBuilt();
  const host = startHost({ handlers: { ...defaultHandlers(), ...handlers } });
  try {
    const hello = options.hello === false ? await host.request('status.get', {}) : await host.hello();
    const port = hello.api.port;
    if (port === null) throw new Error(`the host's API is not listening: ${hello.api.error}`);
    const token = (await readFile(join(host.dataDir, 'api-token'), 'utf8')).trim();
    return { host, port, token, client: new ConductorClient({ baseUrl: `http://127.0.0.1:${port}`, token }), auth: { authorization: `Bearer ${token}` } };
  } catch (err) {
    await host.dispose();
    throw err;
  }
}

/** A journal row the fake add-on records, as the real one does after a dispatch. */
export function journalRow(request: Pick<JournalEntry, 'requestId' | 'platform' | 'clientId' | 'method' | 'path'>, extra: Partial<JournalEntry>): JournalEntry {
  return { ...request, outcome: 'success', createdAt: 1_700_000_000_000, admittedAt: 1_700_000_000_100, finishedAt: 1_700_000_000_200, httpStatus: 200, errorCode: null, admission: ADMISSION, ...extra };
}
