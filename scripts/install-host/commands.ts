import { commandLine, type CliOptions } from './cli.js';
import { diagnose, formatReport, SYSTEM_TRUST_FIX, type DoctorProbe } from './doctor.js';
import { launcherValueProblems, renderLauncher } from './launcher.js';
import { buildManifest, HOST_NAME, renderManifest } from './manifest.js';
import { resolveLayout, type InstallLayout, type SystemInfo } from './paths.js';
import { describeAction, planInstall, planUninstall, type Action } from './plan.js';
import { launchedPaths, systemTrustProblems } from './trust.js';

/** Everything that touches the machine: the doctor's probes plus carrying out an action. */
export interface Effects extends DoctorProbe {
  apply(action: Action): Promise<void>;
}

/** What a command runs against; main.ts fills it from the real process, tests from temp dirs and fakes. */
export interface InstallerContext {
  sys: SystemInfo;
  /** The node running the installer: the launcher starts the host with exactly this binary. */
  nodePath: string;
  /** Absolute path of the built host, dist/native-host/host.mjs. */
  hostScript: string;
  effects: Effects;
  print(text: string): void;
  printError(text: string): void;
}

/** Runs one parsed command; resolves with the process exit code. */
export async function runCommand(options: CliOptions, ctx: InstallerContext): Promise<number> {
  const layout = resolveLayout(ctx.sys, options.scope);
  switch (options.command) {
    case 'install':
      return install(layout, options, ctx);
    case 'uninstall':
      return uninstall(layout, options, ctx);
    case 'status': {
      const checks = await diagnose(layout, options.extensionId, ctx.effects);
      ctx.print(formatReport(checks));
      return checks.every((check) => check.ok) ? 0 : 1;
    }
  }
}

async function install(layout: InstallLayout, options: CliOptions, ctx: InstallerContext): Promise<number> {
  const spec = { platform: layout.platform, nodePath: ctx.nodePath, hostScript: ctx.hostScript, dataDir: options.dataDir };
  const unquotable = launcherValueProblems(spec);
  if (unquotable.length > 0) {
    ctx.printError(`cannot write a safe launcher: ${unquotable.join('; ')}`);
    return 2;
  }
  const untrusted = layout.scope === 'system' ? await systemTrust(layout.platform, ctx) : [];
  if (untrusted.length > 0) {
    ctx.printError(`refusing a --system install: ${untrusted.join('; ')}\n${SYSTEM_TRUST_FIX}`);
    return 1;
  }
  const launcher = renderLauncher(spec);
  const manifest = renderManifest(buildManifest(layout.launcherPath, options.extensionId));
  const actions = planInstall(layout, { manifest, launcher });
  const hostBuilt = await ctx.effects.exists(ctx.hostScript);
  const missingHost = `${ctx.hostScript} is not built: run \`npm run build\` first (\`npm run install-host\` builds it for you)`;
  if (options.dryRun) {
    printDryRun(actions, ctx);
    if (!hostBuilt) ctx.printError(`note: ${missingHost}`);
    return 0;
  }
  // A launcher pointing at nothing would only fail later, inside Firefox, with a vaguer message.
  if (!hostBuilt) {
    ctx.printError(missingHost);
    return 1;
  }
  await applyAll(actions, ctx);
  ctx.print(`registered ${HOST_NAME} for ${options.extensionId} (${layout.scope}); check it with: ${commandLine('status', layout.scope, options.extensionId)}`);
  return 0;
}

/** Why the files a system-wide launcher would run are not safe to run for every user (POSIX; Windows is not checked). */
async function systemTrust(platform: InstallLayout['platform'], ctx: InstallerContext): Promise<string[]> {
  if (platform === 'win32') return [];
  const chains = await Promise.all(launchedPaths(platform, ctx.nodePath, ctx.hostScript).map((path) => ctx.effects.ownerChain(path)));
  return [...new Set(chains.flatMap((chain) => (chain === null ? [] : systemTrustProblems(chain))))];
}

async function uninstall(layout: InstallLayout, options: CliOptions, ctx: InstallerContext): Promise<number> {
  const actions = planUninstall(layout, {
    manifest: await ctx.effects.exists(layout.manifestPath),
    launcher: await ctx.effects.exists(layout.launcherPath),
    registry: layout.registryKey !== null && (await ctx.effects.queryRegistryDefault(layout.registryKey)) !== null,
  });
  if (actions.length === 0) {
    ctx.print(`nothing to remove: ${HOST_NAME} is not installed (${layout.scope})`);
    return 0;
  }
  if (options.dryRun) printDryRun(actions, ctx);
  else await applyAll(actions, ctx);
  return 0;
}

async function applyAll(actions: readonly Action[], ctx: InstallerContext): Promise<void> {
  for (const action of actions) {
    await ctx.effects.apply(action);
    ctx.print(describeAction(action));
  }
}

function printDryRun(actions: readonly Action[], ctx: InstallerContext): void {
  ctx.print('dry run: nothing is changed');
  for (const action of actions) {
    ctx.print(`would ${describeAction(action)}`);
    if (action.kind === 'write') ctx.print(action.text.trimEnd().replace(/^/gm, '    '));
  }
}
