#!/usr/bin/env node
// Builds every runnable piece into dist/: the add-on (release and test flavours), the native
// host, the CLI and the installer. `node scripts/build.mjs [target…]` builds only those targets.
import { build } from 'esbuild';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));

/** The loopback origin only the test flavour may reach (the e2e mock platform). */
const TEST_ORIGIN_MATCH = 'http://127.0.0.1/*';

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // .mjs so Node runs the bundles as ESM wherever they are copied (launcher, installer, e2e).
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  external: ['better-sqlite3'],
  // Bundled ESM still meets CommonJS dependencies that call require().
  banner: { js: "import { createRequire as __cfxCreateRequire } from 'node:module'; const require = __cfxCreateRequire(import.meta.url);" },
  define: { __CONDUCTOR_FX_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};

async function buildExtension(flavour) {
  const out = join(dist, flavour === 'test' ? 'extension-test' : 'extension');
  await rm(out, { recursive: true, force: true });
  await build({
    entryPoints: {
      'background': join(root, 'extension/src/background/main.ts'),
      'content/page-proxy': join(root, 'extension/src/content/page-proxy.ts'),
      'popup/popup': join(root, 'extension/src/popup/main.ts'),
    },
    outdir: out,
    bundle: true,
    format: 'iife',
    target: 'firefox140',
    sourcemap: 'linked',
    define: {
      // A constant, so esbuild drops what only the test flavour uses (its loopback origin) from the release bundle.
      __TEST_BUILD__: JSON.stringify(flavour === 'test'),
      __CONDUCTOR_FX_VERSION__: JSON.stringify(pkg.version),
    },
    logLevel: 'warning',
  });
  const manifest = JSON.parse(await readFile(join(root, 'extension/manifest.json'), 'utf8'));
  manifest.version = pkg.version;
  if (flavour === 'test') {
    manifest.host_permissions = [...manifest.host_permissions, TEST_ORIGIN_MATCH];
    for (const cs of manifest.content_scripts ?? []) cs.matches = [...cs.matches, TEST_ORIGIN_MATCH];
  }
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  await cp(join(root, 'extension/static'), out, { recursive: true });
}

const targets = {
  extension: () => buildExtension('release'),
  'extension-test': () => buildExtension('test'),
  host: () =>
    build({ ...nodeCommon, entryPoints: { host: join(root, 'native-host/src/main.ts') }, outdir: join(dist, 'native-host') }),
  cli: () => build({ ...nodeCommon, entryPoints: { cli: join(root, 'client/cli.ts') }, outdir: dist }),
  // The typed client as the package's `./client` export, runnable by plain Node.
  client: () => build({ ...nodeCommon, entryPoints: { client: join(root, 'client/index.ts') }, outdir: dist }),
  'install-host': () =>
    build({ ...nodeCommon, entryPoints: { 'install-host': join(root, 'scripts/install-host/main.ts') }, outdir: dist }),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in targets)) {
    console.error(`unknown build target "${name}"; known: ${Object.keys(targets).join(', ')}`);
    process.exit(2);
  }
}
await mkdir(dist, { recursive: true });
for (const name of wanted.length > 0 ? wanted : Object.keys(targets)) {
  await targets[name]();
}
