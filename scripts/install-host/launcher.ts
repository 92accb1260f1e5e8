import { DATA_DIR_ENV } from '../../native-host/src/data-dir.js';
import type { SupportedPlatform } from './paths.js';

/** What a launcher starts. */
export interface LauncherSpec {
  platform: SupportedPlatform;
  /** Absolute: Firefox may start the host with a PATH that has no node on it. */
  nodePath: string;
  /** Absolute path of the built host, dist/native-host/host.mjs. */
  hostScript: string;
  /** A data dir to use when the environment names none (`--data-dir`); null leaves the host's default. */
  dataDir: string | null;
}

/** The node binary and host script a launcher starts. */
export interface LauncherTargets {
  nodePath: string;
  hostScript: string;
}

const HEADER = 'conductor-fx native-messaging host launcher, written by `npm run install-host`; reinstall rather than edit.';

/**
 * Why the values of a spec cannot be written into its launcher safely (empty when they can). A
 * batch file has no way to put `"` inside a quoted value (it would end the quotes and let the
 * rest run as commands), and a line break or other control character would end the command line
 * on any OS; no real path needs either.
 */
export function launcherValueProblems(spec: LauncherSpec): string[] {
  const values: [string, string | null][] = [['node path', spec.nodePath], ['host path', spec.hostScript], ['--data-dir', spec.dataDir]];
  return values.flatMap(([what, value]) => {
    if (value === null) return [];
    if (/[\u0000-\u001f\u007f]/.test(value)) return [`the ${what} ${JSON.stringify(value)} holds a control character (a line break?)`];
    if (spec.platform === 'win32' && value.includes('"')) return [`the ${what} ${JSON.stringify(value)} holds a double quote, which a batch file cannot quote`];
    return [];
  });
}

/** The launcher's text: a POSIX sh script on Linux and macOS, a batch file on Windows; throws for values launcherValueProblems refuses. */
export function renderLauncher(spec: LauncherSpec): string {
  const problems = launcherValueProblems(spec);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return spec.platform === 'win32' ? renderBatch(spec) : renderShell(spec);
}

/** Reads back what a launcher written by renderLauncher starts; null for any other text. */
export function readLauncherTargets(platform: SupportedPlatform, text: string): LauncherTargets | null {
  if (platform === 'win32') {
    const match = /^"([^"]+)" "([^"]+)" %\*\r?$/m.exec(text);
    return match?.[1] && match[2] ? { nodePath: unescapeBatch(match[1]), hostScript: unescapeBatch(match[2]) } : null;
  }
  const match = /^exec '((?:[^']|'\\'')*)' '((?:[^']|'\\'')*)' "\$@"$/m.exec(text);
  return match?.[1] && match[2] ? { nodePath: unquoteShell(match[1]), hostScript: unquoteShell(match[2]) } : null;
}

function renderShell(spec: LauncherSpec): string {
  const lines = ['#!/bin/sh', `# ${HEADER}`];
  if (spec.dataDir !== null) {
    // A default only: a data dir set in the environment at run time still wins.
    lines.push(`[ -n "\${${DATA_DIR_ENV}:-}" ] || ${DATA_DIR_ENV}=${quoteShell(spec.dataDir)}`, `export ${DATA_DIR_ENV}`);
  }
  // exec: Firefox signals and waits on the host itself, not on a shell wrapped around it.
  lines.push(`exec ${quoteShell(spec.nodePath)} ${quoteShell(spec.hostScript)} "$@"`);
  return `${lines.join('\n')}\n`;
}

function renderBatch(spec: LauncherSpec): string {
  // @echo off: anything echoed to stdout would corrupt the first frame Firefox reads.
  const lines = ['@echo off', `rem ${HEADER}`];
  if (spec.dataDir !== null) {
    // A default only: a data dir set in the environment at run time still wins.
    lines.push(`if not defined ${DATA_DIR_ENV} set "${DATA_DIR_ENV}=${escapeBatch(spec.dataDir)}"`);
  }
  lines.push(`"${escapeBatch(spec.nodePath)}" "${escapeBatch(spec.hostScript)}" %*`);
  return `${lines.join('\r\n')}\r\n`;
}

function quoteShell(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

function unquoteShell(quotedBody: string): string {
  return quotedBody.replaceAll("'\\''", "'");
}

// Inside double quotes cmd.exe takes & | < > ^ ( ) literally but still expands %VAR%, so a
// literal % is doubled; `"` never gets this far (launcherValueProblems).
function escapeBatch(value: string): string {
  return value.replaceAll('%', '%%');
}

function unescapeBatch(value: string): string {
  return value.replaceAll('%%', '%');
}
