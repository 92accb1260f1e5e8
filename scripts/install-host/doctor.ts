import { commandLine } from './cli.js';
import { readLauncherTargets } from './launcher.js';
import { manifestProblems, parseManifest } from './manifest.js';
import { pathFlavour, type InstallLayout } from './paths.js';
import type { PingOutcome } from './ping.js';
import { describeOwner, launchedPaths, systemTrustProblems, type PathOwner } from './trust.js';

/** One line of the status report: what was checked, what was found, and how to fix it when wrong. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** What the doctor may look at; the system adapter implements it, tests fake it. */
export interface DoctorProbe {
  /** The file's text; null when there is no such file. */
  readText(path: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  isExecutable(path: string): Promise<boolean>;
  /** The default value of a registry key; null when the key is missing. */
  queryRegistryDefault(key: string): Promise<string | null>;
  /** Starts the launcher with these args, as Firefox would, and pings the host. */
  ping(launcherPath: string, args: string[]): Promise<PingOutcome>;
  /** Owner and mode of a path (symlinks resolved) and of each directory above it, innermost first; null when missing. */
  ownerChain(path: string): Promise<PathOwner[] | null>;
}

/**
 * Checks the registration the way Firefox uses it, in order, and stops where a failure makes the next checks
 * meaningless; the host is only pinged when everything it needs is in place.
 */
export async function diagnose(layout: InstallLayout, extensionId: string, probe: DoctorProbe): Promise<Check[]> {
  const checks: Check[] = [];
  const { isAbsolute } = pathFlavour(layout.platform);
  const reinstall = commandLine('install', layout.scope, extensionId);

  let manifestPath = layout.manifestPath;
  if (layout.registryKey !== null) {
    const value = await probe.queryRegistryDefault(layout.registryKey);
    if (value === null || !isAbsolute(value)) {
      const found = value === null ? 'is missing' : `holds "${value}", not an absolute manifest path`;
      checks.push({ name: 'registry', ok: false, detail: `${layout.registryKey} ${found}`, fix: reinstall });
      return checks;
    }
    // Firefox follows the registry, so the doctor does too, even when it points away from our directory.
    manifestPath = value;
    checks.push({ name: 'registry', ok: true, detail: `${layout.registryKey} -> ${value}` });
  }

  const text = await probe.readText(manifestPath);
  if (text === null) {
    checks.push({ name: 'manifest', ok: false, detail: `no manifest at ${manifestPath} (Firefox: "No such native application")`, fix: reinstall });
    return checks;
  }
  const manifest = parseManifest(text);
  if (manifest === null) {
    checks.push({ name: 'manifest', ok: false, detail: `${manifestPath} is not JSON with name, description, path, type, allowed_extensions`, fix: reinstall });
    return checks;
  }
  const problems = manifestProblems(manifest, extensionId, isAbsolute);
  checks.push(
    problems.length === 0
      ? { name: 'manifest', ok: true, detail: `${manifestPath} allows ${extensionId}` }
      : { name: 'manifest', ok: false, detail: `${manifestPath}: ${problems.join('; ')}`, fix: reinstall },
  );

  const launcherPath = manifest.path;
  const launcherText = await probe.readText(launcherPath);
  if (launcherText === null) {
    checks.push({ name: 'launcher', ok: false, detail: `the launcher ${launcherPath} is missing`, fix: reinstall });
    return checks;
  }
  const targets = readLauncherTargets(layout.platform, launcherText);
  if (targets === null) {
    checks.push({ name: 'launcher', ok: false, detail: `${launcherPath} was not written by install-host`, fix: reinstall });
    return checks;
  }
  checks.push(
    (await probe.isExecutable(launcherPath))
      ? { name: 'launcher', ok: true, detail: `${launcherPath} is executable` }
      : { name: 'launcher', ok: false, detail: `${launcherPath} is not executable`, fix: `chmod +x '${launcherPath}' (or ${reinstall})` },
  );
  checks.push(
    (await probe.isExecutable(targets.nodePath))
      ? { name: 'node', ok: true, detail: `${targets.nodePath} exists` }
      : {
          name: 'node',
          ok: false,
          detail: `the launcher's node ${targets.nodePath} is gone (moved, upgraded or removed by a version manager)`,
          fix: `${reinstall}, run with the node Firefox should use`,
        },
  );
  checks.push(
    (await probe.exists(targets.hostScript))
      ? { name: 'host', ok: true, detail: `${targets.hostScript} exists` }
      : { name: 'host', ok: false, detail: `the built host ${targets.hostScript} is missing`, fix: 'npm run build (in the checkout the launcher names)' },
  );
  if (checks.some((check) => !check.ok)) return checks;
  if (layout.platform !== 'win32') {
    checks.push(await ownersCheck(layout, [launcherPath, ...launchedPaths(layout.platform, targets.nodePath, targets.hostScript)], probe));
    if (!checks.at(-1)!.ok) return checks;
  }

  const outcome = await probe.ping(launcherPath, [manifestPath, extensionId]);
  if (!outcome.ok) {
    const byHand = `run it by hand and read its stderr: '${launcherPath}' '${manifestPath}' ${extensionId}`;
    checks.push({ name: 'ping', ok: false, detail: outcome.problem, fix: byHand });
    return checks;
  }
  checks.push({ name: 'ping', ok: true, detail: `host ${outcome.hostVersion}, schema ${outcome.schemaVersion}, answered in ${outcome.elapsedMs} ms` });
  checks.push(
    outcome.exitedOnClose
      ? { name: 'exit', ok: true, detail: 'the host exited when its stdin closed' }
      : {
          name: 'exit',
          ok: false,
          detail: 'the host kept running after its stdin closed (killed): it would outlive the add-on and hold the data-dir lock',
          fix: 'a host bug: report it with the host log',
        },
  );
  return checks;
}

/**
 * Who owns what the launcher runs. A system-wide install runs it for every user, so there each
 * file and every directory above it must be root's and writable by no one else.
 */
async function ownersCheck(layout: InstallLayout, paths: readonly string[], probe: DoctorProbe): Promise<Check> {
  const chains = await Promise.all(paths.map((path) => probe.ownerChain(path)));
  const detail = paths.map((path, i) => `${path} ${chains[i] === null ? 'missing' : describeOwner(chains[i]![0]!.uid)}`).join(', ');
  if (layout.scope === 'user') return { name: 'owners', ok: true, detail };
  const problems = chains.flatMap((chain) => (chain === null ? [] : systemTrustProblems(chain)));
  return problems.length === 0 ? { name: 'owners', ok: true, detail } : { name: 'owners', ok: false, detail: `${detail}: ${[...new Set(problems)].join('; ')}`, fix: SYSTEM_TRUST_FIX };
}

/** How to make a checkout safe to run for every user. */
export const SYSTEM_TRUST_FIX = 'a --system install runs these files for every user: copy the built checkout to a root-owned place (sudo cp -r . /opt/conductor-fx && sudo chown -R root:root /opt/conductor-fx), use a root-owned node, and install from there';

/** The status report: one `ok` / `wrong` line per check, its fix under each wrong one, and a verdict. */
export function formatReport(checks: readonly Check[]): string {
  const width = Math.max(0, ...checks.map((check) => check.name.length));
  const lines = checks.flatMap((check) => {
    const line = `${check.ok ? 'ok   ' : 'wrong'}  ${check.name.padEnd(width)}  ${check.detail}`;
    return check.fix === undefined ? [line] : [line, `${' '.repeat(width + 9)}fix: ${check.fix}`];
  });
  const wrong = checks.filter((check) => !check.ok).length;
  lines.push(wrong === 0 ? `all ${checks.length} checks ok` : `${wrong} wrong: fix the first one, then run status again`);
  return lines.join('\n');
}
