// `npm run proof [-- --short]`: runs every reliability check against the real built host, prints
// one line per check, writes bench/results/proof.json, and exits non-zero when a check failed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHostBuilt } from '../../test/helpers/host-process.js';
import { REPO_ROOT } from '../../test/helpers/repo.js';
import type { ProofCheck, ProofContext, ProofResult } from './check.js';
import { CHECKS } from './checks.js';

const RESULTS_FILE = join(REPO_ROOT, 'bench', 'results', 'proof.json');

/** Runs one check in its own scratch dir; a check that throws has failed, with the reason as its line. */
async function runCheck(check: ProofCheck, full: boolean): Promise<ProofResult> {
  const scratch = mkdtempSync(join(tmpdir(), `cfx-proof-${check.name.replace(/\W+/g, '-')}-`));
  const ctx: ProofContext = { full, scratch, log: (line) => process.stderr.write(`  [${check.name}] ${line}\n`) };
  try {
    return await check.run(ctx);
  } catch (err) {
    return { ok: false, line: `${check.name}: the check itself failed: ${err instanceof Error ? err.message : String(err)}`, figures: {} };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The line printed for a result: `ok   …`, `FAIL …` or `skip <name>: <reason>`. */
export function resultLine(name: string, result: ProofResult): string {
  if (result.skipped !== undefined) return `skip ${name}: ${result.skipped}`;
  return `${result.ok ? 'ok  ' : 'FAIL'} ${result.line}`;
}

const full = !process.argv.includes('--short');
await ensureHostBuilt();
const checks: Record<string, ProofResult> = {};
for (const check of CHECKS) {
  const result = await runCheck(check, full);
  checks[check.name] = result;
  console.log(resultLine(check.name, result));
}
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify({ run: { full, node: process.version, at: new Date().toISOString() }, checks }, null, 2)}\n`);
const failed = Object.values(checks).filter((r) => !r.ok && r.skipped === undefined).length;
console.log(failed === 0 ? `proof: ${CHECKS.length} checks, none failed (${RESULTS_FILE})` : `proof: ${failed} of ${CHECKS.length} checks FAILED`);
process.exitCode = failed === 0 ? 0 : 1;
