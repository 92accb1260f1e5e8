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

/** The launcher's text: a POSIX sh script on Linux and macOS, a batch file on Windows. */
export function renderLauncher(spec: LauncherSpec): string {
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

// Inside double quotes cmd.exe still expands %VAR%, so a literal % is doubled.
function escapeBatch(value: string): string {
  return value.replaceAll('%', '%%');
}

function unescapeBatch(value: string): string {
  return value.replaceAll('%%', '%');
}
