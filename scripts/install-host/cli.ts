import { parseArgs } from 'node:util';
import { DEFAULT_EXTENSION_ID, isValidExtensionId } from './manifest.js';
import type { Scope } from './paths.js';

export type CommandName = 'install' | 'uninstall' | 'status';

/** A validated command line. */
export interface CliOptions {
  command: CommandName;
  scope: Scope;
  dryRun: boolean;
  extensionId: string;
  /** Absolute; baked into the launcher as the default CONDUCTOR_FX_DATA_DIR. */
  dataDir: string | null;
}

export type ParsedCli = { kind: 'run'; options: CliOptions } | { kind: 'help' } | { kind: 'error'; message: string };

export const USAGE = `Usage: npm run install-host -- [install|uninstall|status] [options]
       scripts/install-host/install-host [install|uninstall|status] [options]   (after npm run build)

Registers the conductor-fx native host (conductor_fx) with Firefox, removes it, or checks it.

Commands:
  install    write the host manifest and its launcher (the default)
  uninstall  remove exactly what install wrote
  status     check the registration and ping the host; exits 0 only when every check is ok

Options:
  --user               for the current user (the default)
  --system             for every user of the machine (run as root / from an elevated prompt)
  --extension-id <id>  the add-on allowed to start the host (default ${DEFAULT_EXTENSION_ID})
  --data-dir <dir>     install: bake CONDUCTOR_FX_DATA_DIR into the launcher (the environment still wins)
  --dry-run            install, uninstall: print what would be written or removed, change nothing
  --help               show this help`;

const COMMANDS: readonly CommandName[] = ['install', 'uninstall', 'status'];

const OPTIONS = {
  user: { type: 'boolean', default: false },
  system: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  'extension-id': { type: 'string', default: DEFAULT_EXTENSION_ID },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

/** Parses and validates the arguments after the script name; `resolvePath` makes --data-dir absolute. */
export function parseCli(argv: string[], resolvePath: (path: string) => string): ParsedCli {
  const parsed = parseRaw(argv);
  if (parsed instanceof Error) return { kind: 'error', message: parsed.message };
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length > 1) return { kind: 'error', message: `one command at a time, got: ${positionals.join(' ')}` };
  const command = positionals[0] ?? 'install';
  if (!isCommand(command)) return { kind: 'error', message: `unknown command "${command}"; known: ${COMMANDS.join(', ')}` };
  if (values.user && values.system) return { kind: 'error', message: '--user and --system exclude each other' };
  if (!isValidExtensionId(values['extension-id'])) {
    return { kind: 'error', message: `--extension-id "${values['extension-id']}" is not a Firefox add-on id (name@domain or {GUID})` };
  }
  if (values['dry-run'] && command === 'status') return { kind: 'error', message: '--dry-run applies to install and uninstall' };
  const dataDir = values['data-dir'];
  if (dataDir !== undefined && command !== 'install') return { kind: 'error', message: '--data-dir applies to install' };
  if (dataDir === '') return { kind: 'error', message: '--data-dir needs a directory' };
  return {
    kind: 'run',
    options: {
      command,
      scope: values.system ? 'system' : 'user',
      dryRun: values['dry-run'],
      extensionId: values['extension-id'],
      dataDir: dataDir === undefined ? null : resolvePath(dataDir),
    },
  };
}

// parseArgs throws on unknown or malformed flags; the caller turns that into a usage error.
function parseRaw(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The npm command line that runs a command with these flags, for messages that tell the user what to run. */
export function commandLine(command: CommandName, scope: Scope, extensionId: string): string {
  const scopeFlag = scope === 'system' ? ' --system' : '';
  const idFlag = extensionId === DEFAULT_EXTENSION_ID ? '' : ` --extension-id ${extensionId}`;
  return `npm run install-host -- ${command}${scopeFlag}${idFlag}`;
}

function isCommand(value: string): value is CommandName {
  return (COMMANDS as readonly string[]).includes(value);
}
