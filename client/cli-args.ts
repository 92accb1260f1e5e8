import { parseArgs } from 'node:util';
import type { RenewalScheduleInput } from './client.js';
import { type ApiJobRequestInput, type JobStatus, JobStatusSchema, OnInterruptSchema } from '../shared/jobs.js';
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
  | { name: 'policy-reload' }
  | { name: 'jobs-submit'; job: ApiJobRequestInput; json: boolean }
  | { name: 'jobs-list'; status: JobStatus | undefined; platform: string | undefined; conversation: string | undefined; limit: number; cursor: string | undefined; json: boolean }
  | { name: 'jobs-show' | 'jobs-watch'; id: string; json: boolean }
  | { name: 'jobs-cancel'; id: string }
  | { name: 'conversations-list'; json: boolean }
  | { name: 'conversations-set'; id: string; action: 'auto' | 'manual' | 'pause' | 'resume'; reason: string | undefined; renewal: RenewalScheduleInput | undefined };

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
  jobs submit <platform> <METHOD> <path>  store a durable job; the host sends it when the policy admits it
      [--body text] [--header 'name: value']... [--client id] [--container id] [--conversation id]
      [--renewal] [--idempotency-key k] [--not-before time] [--deadline time] [--max-attempts n]
      [--on-interrupt retry|fail] [--stream] [--max-wait-ms n] [--json]   (time: ISO 8601 or epoch ms)
  jobs list [--status s] [--platform p] [--conversation c] [--limit n] [--cursor c] [--json]
  jobs show <job id> [--json]             a job with its attempts and stored answer
  jobs watch <job id> [--json]            follow a job's events until it ends (exit 1 unless done)
  jobs cancel <job id>                    cancel a pending or running job
  conversations list [--json]             conversations under automation
  conversations auto|manual|pause|resume <id> [reason]
      auto takes a renewal schedule: [--every-ms n --renew-path /p [--body text] [--header 'name: value']...]

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

/** A time flag: ISO 8601 or epoch milliseconds. */
function time(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const at = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(at) || at < 0) throw new UsageError(`${flag} takes an ISO 8601 time or epoch milliseconds, not "${value}"`);
  return at;
}

type Flags = ReturnType<typeof parseArgs<{ options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>; allowPositionals: true; strict: true }>>['values'];
const str = (v: Flags, key: string): string | undefined => (typeof v[key] === 'string' ? (v[key] as string) : undefined);

/** The renewal schedule of `conversations auto` (--every-ms with --renew-path), or none. */
function renewalOf(action: string, v: Flags): RenewalScheduleInput | undefined {
  const everyMs = integer(str(v, 'every-ms'), '--every-ms', 1_000, 7 * 24 * 3_600_000);
  const path = str(v, 'renew-path');
  if (everyMs === undefined && path === undefined) return undefined;
  if (action !== 'auto' || everyMs === undefined || path === undefined) throw new UsageError('a renewal schedule is set with conversations auto <id> --every-ms n --renew-path /p');
  const body = str(v, 'body');
  return { every_ms: everyMs, path, headers: headerMap((v['header'] as string[] | undefined) ?? []), ...(body === undefined ? {} : { body }) };
}

function jobsCommand(rest: string[], v: Flags, json: boolean): CliCommand {
  const [sub, ...args] = rest;
  switch (sub) {
    case 'submit': {
      arity(args, 3, 3, 'jobs submit <platform> <METHOD> <path> [options]');
      const [platform, rawMethod, path] = args as [string, string, string];
      const method = HttpMethodSchema.safeParse(rawMethod.toUpperCase());
      if (!method.success) throw new UsageError(`METHOD must be one of ${HttpMethodSchema.options.join(', ')}, not "${rawMethod}"`);
      const onInterrupt = str(v, 'on-interrupt');
      if (onInterrupt !== undefined && !OnInterruptSchema.safeParse(onInterrupt).success) throw new UsageError(`--on-interrupt takes retry or fail, not "${onInterrupt}"`);
      const optional = {
        body: str(v, 'body'),
        client_id: str(v, 'client'),
        container: str(v, 'container'),
        conversation_id: str(v, 'conversation'),
        idempotency_key: str(v, 'idempotency-key'),
        not_before: time(str(v, 'not-before'), '--not-before'),
        deadline: time(str(v, 'deadline'), '--deadline'),
        max_attempts: integer(str(v, 'max-attempts'), '--max-attempts', 1, 100),
        max_wait_ms: integer(str(v, 'max-wait-ms'), '--max-wait-ms', 0, 3_600_000),
        on_interrupt: onInterrupt as 'retry' | 'fail' | undefined,
        kind: v['renewal'] === true ? ('renewal' as const) : undefined,
        stream: v['stream'] === true ? true : undefined,
      };
      const job: ApiJobRequestInput = { platform, method: method.data, path, headers: headerMap((v['header'] as string[] | undefined) ?? []) };
      for (const [key, value] of Object.entries(optional)) if (value !== undefined) (job as Record<string, unknown>)[key] = value;
      return { name: 'jobs-submit', job, json };
    }
    case 'list': {
      arity(args, 0, 0, 'jobs list [--status s] [--platform p] [--conversation c] [--limit n] [--cursor c] [--json]');
      const status = str(v, 'status');
      if (status !== undefined && !JobStatusSchema.safeParse(status).success) throw new UsageError(`--status takes one of ${JobStatusSchema.options.join(', ')}`);
      return { name: 'jobs-list', status: status as JobStatus | undefined, platform: str(v, 'platform'), conversation: str(v, 'conversation'), limit: integer(str(v, 'limit'), '--limit', 1, 500) ?? 20, cursor: str(v, 'cursor'), json };
    }
    case 'show':
    case 'watch':
      arity(args, 1, 1, `jobs ${sub} <job id>`);
      return { name: sub === 'show' ? 'jobs-show' : 'jobs-watch', id: args[0]!, json };
    case 'cancel':
      arity(args, 1, 1, 'jobs cancel <job id>');
      return { name: 'jobs-cancel', id: args[0]! };
    default:
      throw new UsageError('usage: conductor-fx jobs submit|list|show|watch|cancel …; run conductor-fx --help');
  }
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
        conversation: { type: 'string' },
        renewal: { type: 'boolean' },
        'idempotency-key': { type: 'string' },
        'not-before': { type: 'string' },
        deadline: { type: 'string' },
        'max-attempts': { type: 'string' },
        'on-interrupt': { type: 'string' },
        status: { type: 'string' },
        cursor: { type: 'string' },
        'every-ms': { type: 'string' },
        'renew-path': { type: 'string' },
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
    case 'jobs':
      return { command: jobsCommand(rest, v, json), dataDir };
    case 'conversations': {
      const [action, id, ...reason] = rest;
      if (action === 'list' && id === undefined) return { command: { name: 'conversations-list', json }, dataDir };
      if ((action === 'auto' || action === 'manual' || action === 'pause' || action === 'resume') && id !== undefined && (action === 'pause' || reason.length === 0)) {
        return { command: { name: 'conversations-set', id, action, reason: reason.length === 0 ? undefined : reason.join(' '), renewal: renewalOf(action, v) }, dataDir };
      }
      throw new UsageError('usage: conductor-fx conversations list | conversations auto|manual|resume <id> | conversations pause <id> [reason]');
    }
    case 'policy':
      if (rest.length !== 1 || rest[0] !== 'reload') throw new UsageError('usage: conductor-fx policy reload');
      return { command: { name: 'policy-reload' }, dataDir };
    default:
      throw new UsageError(`unknown command "${name}"; run conductor-fx --help`);
  }
}
