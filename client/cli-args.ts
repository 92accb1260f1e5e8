import { parseArgs } from 'node:util';
import { HttpMethodSchema, type HttpMethod } from '../shared/journal.js';
import { DEFAULT_CLIENT_ID } from '../shared/platforms.js';
import { MAX_WAIT_MS } from '../shared/policy-config.js';

/** What a command line asks for. */
export type CliCommand =
  | { name: 'help' }
  | { name: 'status'; json: boolean; platform: string | undefined }
  | { name: 'request'; platform: string; method: HttpMethod; path: string; body: string | undefined; headers: Record<string, string>; stream: boolean; clientId: string | undefined; container: string | undefined; requestId: string | undefined; maxWaitMs: number | undefined; json: boolean }
  | { name: 'journal'; limit: number; platform: string | undefined; json: boolean }
  | { name: 'reset'; platform: string; clientId: string }
  | { name: 'pause'; reason: string }
  | { name: 'resume' }
  | { name: 'policy-reload' };

/** A parsed command line: the command and the data dir override. */
export interface CliInvocation {
  command: CliCommand;
  dataDir: string | undefined;
}

/** A command line that cannot be run; the message says what is wrong. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `usage: conductor-fx <command> [options]

commands:
  status [--platform p] [--json]          circuit table of the live browser status
  request <platform> <METHOD> <path>      relay a request through the logged-in page
      [--body text] [--header 'name: value']... [--stream] [--client id]
      [--container cookieStoreId] [--request-id id] [--max-wait-ms n] [--json]
  journal [--limit n] [--platform p] [--json]   the request journal, newest first
  reset <platform> [client]               reset the circuit and hold of a target's accounts (client: default)
  pause <reason>                          pause all dispatch
  resume                                  resume dispatch
  policy reload                           re-read <data dir>/policy.json and apply it in the add-on

options:
  --data-dir dir   the host's data dir (default: $CONDUCTOR_FX_DATA_DIR or the OS default)
  -h, --help       this text

exit codes: 0 done; 1 the host or the platform answered an error (HTTP status >= 400);
            2 usage error; 3 the host is not reachable (not running, not registered, no token)`;

function integer(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not "${value}"`);
  return n;
}

function headerMap(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header takes "name: value", not "${line}"`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function arity(positionals: string[], min: number, max: number, form: string): void {
  if (positionals.length < min || positionals.length > max) throw new UsageError(`usage: conductor-fx ${form}`);
}

/** Parses argv (without node and the script); throws UsageError for anything it cannot run. */
export function parseCli(argv: string[]): CliInvocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        platform: { type: 'string' },
        limit: { type: 'string' },
        body: { type: 'string' },
        header: { type: 'string', multiple: true },
        stream: { type: 'boolean' },
        client: { type: 'string' },
        container: { type: 'string' },
        'request-id': { type: 'string' },
        'max-wait-ms': { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  const [name, ...rest] = positionals;
  const dataDir = v['data-dir'];
  const json = v.json === true;
  if (v.help === true || name === undefined || name === 'help') return { command: { name: 'help' }, dataDir };
  switch (name) {
    case 'status':
      arity(rest, 0, 0, 'status [--platform p] [--json]');
      return { command: { name, json, platform: v.platform }, dataDir };
    case 'request': {
      arity(rest, 3, 3, 'request <platform> <METHOD> <path> [options]');
      const [platform, rawMethod, path] = rest as [string, string, string];
      const method = HttpMethodSchema.safeParse(rawMethod.toUpperCase());
      if (!method.success) throw new UsageError(`METHOD must be one of ${HttpMethodSchema.options.join(', ')}, not "${rawMethod}"`);
      return {
        command: {
          name,
          platform,
          method: method.data,
          path,
          body: v.body,
          headers: headerMap(v.header ?? []),
          stream: v.stream === true,
          clientId: v.client,
          container: v.container,
          requestId: v['request-id'],
          maxWaitMs: integer(v['max-wait-ms'], '--max-wait-ms', 0, MAX_WAIT_MS),
          json,
        },
        dataDir,
      };
    }
    case 'journal':
      arity(rest, 0, 0, 'journal [--limit n] [--platform p] [--json]');
      return { command: { name, limit: integer(v.limit, '--limit', 1, 1_000) ?? 20, platform: v.platform, json }, dataDir };
    case 'reset':
      arity(rest, 1, 2, 'reset <platform> [client]');
      return { command: { name, platform: rest[0]!, clientId: rest[1] ?? DEFAULT_CLIENT_ID }, dataDir };
    case 'pause':
      if (rest.length === 0) throw new UsageError('usage: conductor-fx pause <reason>');
      return { command: { name, reason: rest.join(' ') }, dataDir };
    case 'resume':
      arity(rest, 0, 0, 'resume');
      return { command: { name }, dataDir };
    case 'policy':
      if (rest.length !== 1 || rest[0] !== 'reload') throw new UsageError('usage: conductor-fx policy reload');
      return { command: { name: 'policy-reload' }, dataDir };
    default:
      throw new UsageError(`unknown command "${name}"; run conductor-fx --help`);
  }
}
