import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../../shared/errors.js';
import { EXTENSION_EVENTS, EXTENSION_METHODS, HOST_METHODS } from '../../../shared/messages.js';

const PROTOCOL_MD = new URL('../../../PROTOCOL.md', import.meta.url);
const START = '<!-- error-table:start (generated from shared/errors.ts ERROR_TABLE; protocol-doc.test.ts checks it) -->';
const END = '<!-- error-table:end -->';

/** The error table exactly as PROTOCOL.md must show it. */
function renderErrorTable(): string {
  const rows = Object.entries(ERROR_TABLE).map(([code, e]) => `| \`${code}\` | ${e.http} | ${cell(e.meaning)} | ${cell(e.action)} |`);
  return ['| Code | HTTP | Meaning | What the caller should do |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

describe('PROTOCOL.md', () => {
  const doc = readFileSync(PROTOCOL_MD, 'utf8');

  it('holds exactly one error table, identical to ERROR_TABLE', () => {
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    expect(start, `PROTOCOL.md lacks the marker ${START}`).toBeGreaterThanOrEqual(0);
    expect(doc.indexOf(START, start + 1)).toBe(-1);
    // On a mismatch the expected text is the table to paste between the markers.
    expect(doc.slice(start + START.length, end).trim()).toBe(renderErrorTable());
  });

  it('documents every message type of both directions', () => {
    for (const type of [...Object.keys(HOST_METHODS), ...Object.keys(EXTENSION_METHODS), ...Object.keys(EXTENSION_EVENTS)]) {
      expect(doc, `PROTOCOL.md does not document ${type}`).toContain(`\`${type}\``);
    }
  });
});
