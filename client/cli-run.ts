import { ERROR_TABLE, isConductorError } from '../shared/errors.js';
import { ConductorClient } from './client.js';
import { type CliCommand, USAGE, UsageError, parseCli } from './cli-args.js';
import { formatCircuitTable, formatConversationTable, formatJobTable, formatJournalTable, formatWait } from './format.js';

/** Exit codes of the CLI (also in its --help). */
export const EXIT = { ok: 0, failed: 1, usage: 2, hostUnavailable: 3 } as const;

/** Where the CLI writes and what it is told from outside. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  /** Aborts a running request (Ctrl-C); the host then cancels the relay. */
  signal?: AbortSignal;
  now(): number;
}

async function run(command: Exclude<CliCommand, { name: 'help' }>, client: ConductorClient, io: CliIo): Promise<number> {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  switch (command.name) {
    case 'status': {
      const status = await client.browser(command.platform);
      out(command.json ? JSON.stringify(status, null, 2) : formatCircuitTable(status, { color: io.stdout.isTTY === true, now: io.now() }));
      return EXIT.ok;
    }
    case 'request': {
      const input = {
        platform: command.platform,
        method: command.method,
        path: command.path,
        headers: command.headers,
        ...(command.body === undefined ? {} : { body: command.body }),
        ...(command.clientId === undefined ? {} : { clientId: command.clientId }),
        ...(command.container === undefined ? {} : { container: command.container }),
        ...(command.requestId === undefined ? {} : { requestId: command.requestId }),
        ...(command.maxWaitMs === undefined ? {} : { maxWaitMs: command.maxWaitMs }),
      };
      const options = io.signal === undefined ? {} : { signal: io.signal };
      if (command.stream) {
        const end = await client.relayStream(input, (chunk) => io.stdout.write(command.json ? `${JSON.stringify(chunk)}\n` : chunk.data), options);
        if (command.json) out(JSON.stringify(end));
        io.stderr.write(`\nHTTP ${end.status} · request ${end.request_id}${end.replayed ? ' · replayed from the journal (body not kept)' : ''}\n`);
        return end.status >= 400 ? EXIT.failed : EXIT.ok;
      }
      const response = await client.relay(input, options);
      if (command.json) out(JSON.stringify(response, null, 2));
      else io.stdout.write(response.body ?? '');
      io.stderr.write(`${command.json ? '' : '\n'}HTTP ${response.status} · request ${response.request_id}${response.replayed ? ' · replayed from the journal (body not kept)' : ''}\n`);
      return response.status >= 400 ? EXIT.failed : EXIT.ok;
    }
    case 'journal': {
      const entries = await client.journal({ limit: command.limit, ...(command.platform === undefined ? {} : { platform: command.platform }) });
      out(command.json ? JSON.stringify(entries, null, 2) : formatJournalTable(entries));
      return EXIT.ok;
    }
    case 'reset': {
      const { reset } = await client.reset(command.platform, command.clientId);
      out(reset ? `reset ${command.platform}/${command.clientId}` : `${command.platform}/${command.clientId} had nothing to reset`);
      return EXIT.ok;
    }
    case 'pause':
      await client.pause(command.reason);
      out(`paused: ${command.reason}`);
      return EXIT.ok;
    case 'resume':
      await client.resume();
      out('resumed');
      return EXIT.ok;
    case 'policy-reload': {
      const { applied, source } = await client.reloadPolicy();
      const file = source ?? 'no policy.json: the defaults';
      out(applied ? `policy applied (${file})` : `policy not applied (${file}): the add-on keeps its policy (test build?)`);
      return applied ? EXIT.ok : EXIT.failed;
    }
    case 'jobs-submit': {
      const accepted = await client.submitJob(command.job);
      out(command.json ? JSON.stringify(accepted) : `${accepted.job_id} ${accepted.status}${accepted.replayed ? ' (already submitted under this idempotency key)' : ''}`);
      return EXIT.ok;
    }
    case 'jobs-list': {
      const { status, platform, conversation, limit, cursor } = command;
      const page = await client.jobs({ status, platform, conversation, limit, cursor });
      if (command.json) out(JSON.stringify(page, null, 2));
      else out(`${formatJobTable(page.jobs, io.now())}${page.next_cursor === null ? '' : `\nmore: --cursor ${page.next_cursor}`}`);
      return EXIT.ok;
    }
    case 'jobs-show': {
      const job = await client.job(command.id);
      if (command.json) {
        out(JSON.stringify(job, null, 2));
      } else {
        out(formatJobTable([job], io.now()));
        for (const a of job.attempts) out(`  attempt ${a.attempt}: ${a.outcome}${a.http_status === null ? '' : ` HTTP ${a.http_status}`}${a.error === null ? '' : ` ${a.error.code}: ${a.error.message}`}`);
        if (job.result !== null) out(`${job.result.body}${job.result.truncated ? `\n[truncated: ${job.result.byte_length} bytes in all]` : ''}`);
      }
      return job.status === 'failed' ? EXIT.failed : EXIT.ok;
    }
    case 'jobs-watch': {
      const final = await client.watchJob(command.id, (event) => {
        if (command.json) out(JSON.stringify(event));
        else if (event.name === 'streaming') io.stdout.write(event.data.data);
        else io.stderr.write(`${event.name}${'attempt' in event.data ? ` (attempt ${String(event.data.attempt)})` : ''}\n`);
      }, io.signal === undefined ? {} : { signal: io.signal });
      return final.name === 'done' ? EXIT.ok : EXIT.failed;
    }
    case 'jobs-cancel': {
      const job = await client.cancelJob(command.id);
      out(`${job.job_id} ${job.status}`);
      return EXIT.ok;
    }
    case 'conversations-list': {
      const conversations = await client.conversations();
      out(command.json ? JSON.stringify(conversations, null, 2) : formatConversationTable(conversations));
      return EXIT.ok;
    }
    case 'conversations-set': {
      const c = await client.setConversation(command.id, command.action, { ...(command.reason === undefined ? {} : { reason: command.reason }), ...(command.renewal === undefined ? {} : { renewal: command.renewal }) });
      const renewal = c.renewal === null ? '' : `, renewal ${c.renewal.method} ${c.renewal.path} every ${formatWait(c.renewal.every_ms)}`;
      out(`${c.conversation_id}: ${c.automation_status}${c.pause_reason === null ? '' : ` (${c.pause_reason})`}${renewal}`);
      return EXIT.ok;
    }
  }
}

/** Runs one command line and returns its exit code; errors are printed, never thrown. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const { command, dataDir } = parseCli(argv);
    if (command.name === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    return await run(command, await ConductorClient.fromDataDir(dataDir), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n`);
      return EXIT.usage;
    }
    if (!isConductorError(err)) throw err;
    const wait = err.details?.['retry_after_ms'];
    const retry = typeof wait === 'number' ? ` (retry after ${formatWait(wait)})` : '';
    io.stderr.write(`error: ${err.code}: ${err.message}${retry}\n  ${ERROR_TABLE[err.code].action}\n`);
    return err.code === 'host_unavailable' ? EXIT.hostUnavailable : EXIT.failed;
  }
}
