// The installer's command line; built to dist/install-host.mjs (`node scripts/build.mjs install-host`).
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli, USAGE } from './cli.js';
import { runCommand } from './commands.js';
import { supportedPlatform } from './paths.js';
import { createSystemEffects, hasErrorCode } from './system.js';

async function main(argv: string[]): Promise<number> {
  const parsed = parseCli(argv, (path) => resolve(path));
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    console.error(`install-host: ${parsed.message}\n\n${USAGE}`);
    return 2;
  }
  const platform = supportedPlatform(process.platform);
  return runCommand(parsed.options, {
    sys: { platform, homedir: homedir(), env: process.env },
    nodePath: process.execPath,
    // This module only runs bundled as dist/install-host.mjs, so the host sits at dist/native-host/host.mjs.
    hostScript: fileURLToPath(new URL('./native-host/host.mjs', import.meta.url)),
    effects: createSystemEffects(platform, process.env),
    print: (text) => console.log(text),
    printError: (text) => console.error(text),
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const hint = hasErrorCode(err, 'EACCES', 'EPERM') ? '\n(--system needs root: sudo, or an elevated prompt on Windows)' : '';
    console.error(`install-host: ${err instanceof Error ? err.message : String(err)}${hint}`);
    process.exitCode = 1;
  },
);
