// The add-on as shipped: both build flavours are built for real (scripts/build.mjs), their
// manifests checked against the platform origins, and `web-ext lint` / `web-ext build` run on them.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_ORIGINS } from '../shared/platforms.js';
import { DEFAULT_EXTENSION_ID } from '../scripts/install-host/manifest.js';

const run = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const WEB_EXT = join(REPO, 'node_modules/web-ext/bin/web-ext.js');
const RELEASE_ORIGINS = Object.values(PLATFORM_ORIGINS).map((origin) => `${origin}/*`);
const LOOPBACK = 'http://127.0.0.1/*';
/**
 * A loopback origin as code spells it: `http://127.0.0.1` (also with escaped slashes) or the
 * address as an escaped regex, as in source maps' JSON too. Prose naming the API address
 * ("listening on 127.0.0.1:7311") is no origin and does not match.
 */
const LOOPBACK_ORIGIN = /http:(\\*\/){2}127\\*\.0\\*\.0\\*\.1|127\\+\.0\\+\.0\\+\.1/;

interface Manifest {
  version: string;
  browser_specific_settings: { gecko: { id: string; strict_min_version: string } };
  background: { scripts: string[] };
  permissions: string[];
  host_permissions: string[];
  content_scripts: { matches: string[]; js: string[]; run_at: string }[];
  action: { default_popup: string; default_title: string; default_icon: Record<string, string> };
  icons: Record<string, string>;
}

interface LintReport {
  summary: { errors: number; notices: number; warnings: number };
  errors: { code: string; message: string }[];
  warnings: { code: string; message: string }[];
}

/**
 * Runs the real build script in a scratch copy of the repo's layout (sources linked, dist/ its
 * own), so this test never rewrites the dist/ that the end-to-end tests load into Firefox.
 */
async function buildIsolated(root: string): Promise<void> {
  await mkdir(join(root, 'scripts'));
  await mkdir(join(root, 'extension'));
  await cp(join(REPO, 'scripts/build.mjs'), join(root, 'scripts/build.mjs'));
  // build.mjs copies extension/static with fs.cp, which refuses a symlinked source dir.
  await cp(join(REPO, 'extension/static'), join(root, 'extension/static'), { recursive: true });
  await cp(join(REPO, 'extension/manifest.json'), join(root, 'extension/manifest.json'));
  await symlink(join(REPO, 'extension/src'), join(root, 'extension/src'));
  for (const entry of ['shared', 'node_modules', 'package.json']) await symlink(join(REPO, entry), join(root, entry));
  await run(process.execPath, [join(root, 'scripts/build.mjs'), 'extension', 'extension-test'], { cwd: root });
}

async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

async function lint(dir: string): Promise<LintReport> {
  // web-ext exits non-zero when it finds errors; the JSON report is on stdout either way.
  const { stdout } = await run(process.execPath, [WEB_EXT, 'lint', '--source-dir', dir, '--output', 'json', '--no-config-discovery'], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  return JSON.parse(stdout) as LintReport;
}

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** The files of a built add-on whose text names a loopback origin. */
async function filesWithLoopbackOrigin(dir: string): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await filesUnder(dir)) if (LOOPBACK_ORIGIN.test(await readFile(join(dir, file), 'utf8'))) hits.push(file);
  return hits.sort();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('the built add-on', { timeout: 180_000 }, () => {
  let root: string;
  let release: string;
  let test: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'conductor-fx-manifest-'));
    await buildIsolated(root);
    release = join(root, 'dist/extension');
    test = join(root, 'dist/extension-test');
  }, 180_000);

  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('asks for exactly the platform origins, and runs the page proxy on exactly those', async () => {
    const m = await readManifest(release);
    expect(m.host_permissions).toEqual(RELEASE_ORIGINS);
    expect(m.content_scripts).toEqual([{ matches: RELEASE_ORIGINS, js: ['content/page-proxy.js'], run_at: 'document_idle' }]);
    expect(m.permissions.sort()).toEqual(['nativeMessaging', 'storage', 'tabs']);
    expect(JSON.stringify(m)).not.toContain('127.0.0.1');
  });

  it('adds only the loopback origin in the test flavour', async () => {
    const [r, t] = [await readManifest(release), await readManifest(test)];
    expect(t.host_permissions).toEqual([...RELEASE_ORIGINS, LOOPBACK]);
    expect(t.content_scripts[0]?.matches).toEqual([...RELEASE_ORIGINS, LOOPBACK]);
    // Everything else is the same document.
    expect({ ...t, host_permissions: r.host_permissions, content_scripts: r.content_scripts }).toEqual(r);
  });

  it('leaves the test origin out of the release bundle (code and source maps); only the test flavour has it', async () => {
    expect(await filesWithLoopbackOrigin(release)).toEqual([]);
    // The same search finds it where it belongs, so it can fail.
    expect(await filesWithLoopbackOrigin(test)).toEqual(expect.arrayContaining(['background.js', 'background.js.map', 'manifest.json']));
  });

  it('carries the add-on id the host allows, the package version, and every file it names', async () => {
    const m = await readManifest(release);
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(m.browser_specific_settings.gecko.id).toBe(DEFAULT_EXTENSION_ID);
    expect(m.version).toBe(pkg.version);
    const files = [
      ...m.background.scripts,
      ...m.content_scripts.flatMap((c) => c.js),
      m.action.default_popup,
      'popup/popup.js',
      'popup/popup.css',
      ...Object.values(m.action.default_icon),
      ...Object.values(m.icons),
    ];
    for (const file of files) expect(await exists(join(release, file)), file).toBe(true);
  });

  it.each([
    ['release', () => release],
    ['test', () => test],
  ])('passes web-ext lint with 0 errors and 0 warnings (%s flavour)', async (_flavour, dir) => {
    const report = await lint(dir());
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.summary).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('packs into an .xpi with web-ext build', async () => {
    const artifacts = join(root, 'web-ext-artifacts');
    await run(process.execPath, [
      WEB_EXT, 'build', '--source-dir', release, '--artifacts-dir', artifacts, '--filename', 'conductor-fx-{version}.xpi', '--ignore-files', '**/*.map', '--no-config-discovery',
    ]);
    const m = await readManifest(release);
    expect(await readdir(artifacts)).toEqual([`conductor-fx-${m.version}.xpi`]);
  });
});
