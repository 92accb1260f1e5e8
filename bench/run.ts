// `npm run bench`: runs every benchmark suite, prints its figures and merges them into
// bench/results/latest.json (each suite owns its keys).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A suite measures and returns flat figures (numbers or short strings) keyed by name. */
export type BenchSuite = () => Promise<Record<string, number | string>>;

const suites: Record<string, () => Promise<{ run: BenchSuite }>> = {
  policy: () => import('./policy.js'),
  host: () => import('./host.js'),
  api: () => import('./api.js'),
  relay: () => import('./relay.js'),
};

const resultsFile = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');
// Suite names select suites; `--flags` are the suites' own (e.g. relay's --quick).
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
let results: Record<string, unknown> = {};
try {
  results = JSON.parse(await readFile(resultsFile, 'utf8')) as Record<string, unknown>;
} catch {
  // first run: nothing to merge into
}
for (const [name, load] of Object.entries(suites)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n== ${name}`);
  const figures = await (await load()).run();
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(40)} ${v}`);
  Object.assign(results, figures);
}
results.measured_at = new Date().toISOString();
results.node_version = process.version;
await mkdir(dirname(resultsFile), { recursive: true });
await writeFile(resultsFile, JSON.stringify(results, null, 2) + '\n');
console.log(`\nwritten to ${resultsFile}`);
