import type { InstallLayout } from './paths.js';
import { regAddArgv, regDeleteArgv, type Argv } from './registry.js';

/** One change to the machine; install and uninstall are lists of these, so a dry run can print them instead. */
export type Action =
  /** privateDir: directories created for the file are the user's alone (0700). */
  | { kind: 'write'; path: string; text: string; executable: boolean; privateDir?: boolean }
  | { kind: 'remove'; path: string }
  | { kind: 'remove-dir-if-empty'; path: string }
  | { kind: 'run'; argv: Argv };

/** What install currently finds on the machine, so uninstall removes only what is there. */
export interface Installed {
  manifest: boolean;
  launcher: boolean;
  registry: boolean;
}

/** The writes (and on Windows the registry entry) that register the host; repeating them changes nothing. */
export function planInstall(layout: InstallLayout, files: { manifest: string; launcher: string }): Action[] {
  // Launcher before manifest before registry: Firefox never finds an entry pointing at a missing file.
  const actions: Action[] = [
    // The user's launcher directory is also the host's default data dir (journal, conversations, log): keep it private.
    { kind: 'write', path: layout.launcherPath, text: files.launcher, executable: true, privateDir: layout.scope === 'user' },
    { kind: 'write', path: layout.manifestPath, text: files.manifest, executable: false },
  ];
  if (layout.registryKey !== null) actions.push({ kind: 'run', argv: regAddArgv(layout.registryKey, layout.manifestPath) });
  return actions;
}

/** The removals that undo planInstall, limited to what is installed; empty when nothing is. */
export function planUninstall(layout: InstallLayout, installed: Installed): Action[] {
  const actions: Action[] = [];
  if (installed.registry && layout.registryKey !== null) actions.push({ kind: 'run', argv: regDeleteArgv(layout.registryKey) });
  if (installed.manifest) actions.push({ kind: 'remove', path: layout.manifestPath });
  if (installed.launcher) actions.push({ kind: 'remove', path: layout.launcherPath });
  if (actions.length === 0) return actions;
  // Directories stay when anything else lives there (other hosts' manifests, the host's data).
  for (const dir of new Set([layout.manifestDir, layout.launcherDir])) actions.push({ kind: 'remove-dir-if-empty', path: dir });
  return actions;
}

/** One line saying what an action does. */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'write':
      return `write ${action.path}${action.executable ? ' (executable)' : ''}`;
    case 'remove':
      return `remove ${action.path}`;
    case 'remove-dir-if-empty':
      return `remove ${action.path} if empty`;
    case 'run':
      return `run ${formatArgv(action.argv)}`;
  }
}

/** An argv as a reader would type it, quoting the arguments that hold spaces. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((arg) => (arg === '' || /\s/.test(arg) ? `"${arg}"` : arg)).join(' ');
}
