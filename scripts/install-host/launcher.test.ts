import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launcherValueProblems, readLauncherTargets, renderLauncher } from './launcher.js';

describe('renderLauncher (sh)', () => {
  it('execs the absolute node with the absolute host and passes Firefox\'s args through', () => {
    const text = renderLauncher({ platform: 'linux', nodePath: '/opt/node/bin/node', hostScript: '/src/dist/native-host/host.mjs', dataDir: null });
    expect(text).toBe(
      [
        '#!/bin/sh',
        '# conductor-fx native-messaging host launcher, written by `npm run install-host`; reinstall rather than edit.',
        `exec '/opt/node/bin/node' '/src/dist/native-host/host.mjs' "$@"`,
        '',
      ].join('\n'),
    );
    expect(text).not.toContain('CONDUCTOR_FX_DATA_DIR');
  });

  it('quotes paths with spaces and single quotes, and reads them back', () => {
    const spec = { platform: 'darwin', nodePath: "/Users/o'brien/node", hostScript: '/Users/o b/host.mjs', dataDir: "/data/it's" } as const;
    const text = renderLauncher(spec);
    expect(text).toContain(`exec '/Users/o'\\''brien/node' '/Users/o b/host.mjs' "$@"`);
    expect(text).toContain(`CONDUCTOR_FX_DATA_DIR='/data/it'\\''s'`);
    expect(readLauncherTargets('darwin', text)).toEqual({ nodePath: spec.nodePath, hostScript: spec.hostScript });
  });
});

describe('renderLauncher (bat)', () => {
  it('is a CRLF batch file that echoes nothing and passes every arg through', () => {
    const text = renderLauncher({ platform: 'win32', nodePath: 'C:\\Program Files\\nodejs\\node.exe', hostScript: 'C:\\src\\dist\\native-host\\host.mjs', dataDir: 'D:\\fx 100%' });
    expect(text).toBe(
      [
        '@echo off',
        'rem conductor-fx native-messaging host launcher, written by `npm run install-host`; reinstall rather than edit.',
        'if not defined CONDUCTOR_FX_DATA_DIR set "CONDUCTOR_FX_DATA_DIR=D:\\fx 100%%"',
        '"C:\\Program Files\\nodejs\\node.exe" "C:\\src\\dist\\native-host\\host.mjs" %*',
        '',
      ].join('\r\n'),
    );
    expect(readLauncherTargets('win32', text)).toEqual({ nodePath: 'C:\\Program Files\\nodejs\\node.exe', hostScript: 'C:\\src\\dist\\native-host\\host.mjs' });
  });
});

describe('readLauncherTargets', () => {
  it('recognizes nothing but a launcher install-host wrote', () => {
    expect(readLauncherTargets('linux', '#!/bin/sh\nnode host.mjs\n')).toBeNull();
    expect(readLauncherTargets('win32', '@echo off\r\nnode host.mjs %*\r\n')).toBeNull();
  });
});

describe.skipIf(process.platform === 'win32')('the sh launcher, run', () => {
  let dir = '';
  let reporter = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cfx-launcher-'));
    // Stands in for the host: reports what it was started with.
    reporter = join(dir, 'report.mjs');
    writeFileSync(reporter, 'console.log(JSON.stringify({ args: process.argv.slice(2), dataDir: process.env.CONDUCTOR_FX_DATA_DIR ?? null }));\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function runLauncher(dataDir: string | null, env: Record<string, string>): unknown {
    const launcher = join(dir, `launcher-${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(launcher, renderLauncher({ platform: 'linux', nodePath: process.execPath, hostScript: reporter, dataDir }));
    chmodSync(launcher, 0o755);
    // PATH without node: the launcher must not need it.
    return JSON.parse(execFileSync(launcher, ['/x/conductor_fx.json', 'conductor-fx@conductor.local'], { env: { PATH: '/usr/bin:/bin', ...env } }).toString());
  }

  it('runs the host with Firefox\'s two args and the data dir of the environment', () => {
    expect(runLauncher(null, { CONDUCTOR_FX_DATA_DIR: '/from/env' })).toEqual({ args: ['/x/conductor_fx.json', 'conductor-fx@conductor.local'], dataDir: '/from/env' });
    expect(runLauncher(null, {})).toEqual({ args: ['/x/conductor_fx.json', 'conductor-fx@conductor.local'], dataDir: null });
  });

  it('uses a baked --data-dir only when the environment names none', () => {
    expect(runLauncher('/baked dir', {})).toMatchObject({ dataDir: '/baked dir' });
    expect(runLauncher('/baked dir', { CONDUCTOR_FX_DATA_DIR: '/from/env' })).toMatchObject({ dataDir: '/from/env' });
  });
});

/**
 * How cmd.exe reads one line of a batch file, as far as quoting goes: `"` toggles quoting;
 * outside quotes & | < > ^ are command syntax; inside them only %…% is expanded.
 */
function batchLineHazards(line: string): string[] {
  const hazards: string[] = [];
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (c === '"') quoted = !quoted;
    else if (!quoted && '&|<>^'.includes(c)) hazards.push(`unquoted ${c} at ${i}`);
    else if (c === '%') {
      if (line[i + 1] === '%') i += 1;
      else if (!(line[i + 1] === '*' && !quoted)) hazards.push(`expandable % at ${i}`);
    }
  }
  if (quoted) hazards.push('a quote left open');
  return hazards;
}

describe('renderLauncher (bat): every value stays inside its quotes', () => {
  it('refuses a data dir with a double quote (it would end the quotes and run the rest) or a line break', () => {
    const base = { platform: 'win32', nodePath: 'C:\\node\\node.exe', hostScript: 'C:\\src\\host.mjs' } as const;
    const breakout = 'C:\\d" & calc & rem "';
    expect(launcherValueProblems({ ...base, dataDir: breakout })).toEqual([`the --data-dir ${JSON.stringify(breakout)} holds a double quote, which a batch file cannot quote`]);
    expect(() => renderLauncher({ ...base, dataDir: breakout })).toThrow(/double quote/);
    expect(launcherValueProblems({ ...base, dataDir: 'C:\\d\r\ncalc' })).toHaveLength(1);
    expect(launcherValueProblems({ ...base, platform: 'linux', dataDir: '/d\nrm -rf ~' })).toHaveLength(1);
    // A POSIX path may hold a double quote: single quotes carry it.
    expect(launcherValueProblems({ ...base, platform: 'linux', dataDir: '/d"x' })).toEqual([]);
  });

  it('renders any other value with no command syntax or expansion outside the quoting (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'C', ':', '\\', ' ', '%', '&', '|', '<', '>', '^', '!', '(', ')', '"', 'é', '\n', 'P', 'A', 'T', 'H') }), (dataDir) => {
        const spec = { platform: 'win32', nodePath: 'C:\\Program Files\\node.exe', hostScript: `C:\\src ${dataDir.replace(/["\n]/g, '')}\\host.mjs`, dataDir } as const;
        if (launcherValueProblems(spec).length > 0) {
          expect(dataDir).toMatch(/["\n]/);
          return;
        }
        const text = renderLauncher(spec);
        for (const line of text.split('\r\n')) expect(batchLineHazards(line), line).toEqual([]);
        expect(readLauncherTargets('win32', text)).toEqual({ nodePath: spec.nodePath, hostScript: spec.hostScript });
        const set = /^if not defined CONDUCTOR_FX_DATA_DIR set "CONDUCTOR_FX_DATA_DIR=(.*)"\r?$/m.exec(text);
        expect(set?.[1]?.replaceAll('%%', '%')).toBe(dataDir);
      }),
    );
  });
});
