import { appendFileSync, renameSync, statSync } from 'node:fs';
import type { Logger } from './api/context.js';

/** The host's log file in the data dir; the previous one is kept as host.log.1. */
export const LOG_FILE_NAME = 'host.log';

/** host.log is rotated once it passes this size, so the data dir never fills up with logs. */
export const DEFAULT_LOG_MAX_BYTES = 1024 * 1024;

/** Field names whose values never reach a log line, whoever passes them. */
const SECRET_FIELD = /cookie|authori[sz]ation|token|secret|password|header|body|payload/i;

export interface LogSinks {
  /** Where every line goes at once (the host's stderr; Firefox shows it in its browser console). */
  stderr: { write(text: string): unknown };
  /** The log file; null logs to stderr only. */
  filePath: string | null;
  maxFileBytes?: number;
  now?: () => number;
}

/**
 * A logger writing one line per entry to stderr and to a size-capped file (rotated to `.1`).
 * File writes are synchronous so the last lines before a crash are on disk; a failing log file
 * never takes the host down.
 */
export function createLogger(sinks: LogSinks): Logger {
  const maxBytes = sinks.maxFileBytes ?? DEFAULT_LOG_MAX_BYTES;
  const now = sinks.now ?? Date.now;
  let fileBytes = sinks.filePath === null ? 0 : sizeOf(sinks.filePath);
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    const line = `${new Date(now()).toISOString()} ${level} ${message}${fields === undefined ? '' : ` ${safeJson(fields)}`}\n`;
    try {
      sinks.stderr.write(line);
    } catch {
      // A stderr that throws must not take the host down; the file still gets the line.
    }
    if (sinks.filePath === null) return;
    try {
      if (fileBytes > 0 && fileBytes + Buffer.byteLength(line) > maxBytes) {
        renameSync(sinks.filePath, `${sinks.filePath}.1`);
        fileBytes = 0;
      }
      appendFileSync(sinks.filePath, line);
      fileBytes += Buffer.byteLength(line);
    } catch {
      // stderr already has the line.
    }
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}

/** A stream the host writes to best-effort: its stderr, whose reader may vanish at any time. */
export interface BestEffortSink {
  write(text: string): void;
  /** True once the stream has failed; nothing is written to it after that. */
  readonly broken: boolean;
}

/**
 * Wraps a writable so that its first failure (an `error` event such as EPIPE, or a throwing
 * write) silences it for good and is reported once through `onBroken`. An error handler that
 * logs can then never write to the stream whose failure it is handling, which is what used to
 * spin the host at 100 % CPU once Firefox was gone.
 */
export function bestEffortSink(stream: NodeJS.WritableStream, onBroken: (error: Error) => void): BestEffortSink {
  let broken = false;
  const fail = (error: Error): void => {
    if (broken) return;
    broken = true;
    onBroken(error);
  };
  stream.on('error', fail);
  return {
    get broken() {
      return broken;
    },
    write(text) {
      if (broken) return;
      try {
        stream.write(text);
      } catch (err) {
        fail(err as Error);
      }
    },
  };
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (key, value: unknown) => (key !== '' && SECRET_FIELD.test(key) ? '[redacted]' : value));
  } catch {
    return '{"fields":"[unserializable]"}';
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
