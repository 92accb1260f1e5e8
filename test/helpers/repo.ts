import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file so tests and the demo run from any working directory. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A path inside dist/, where `npm run build` puts every runnable piece. */
export function distPath(...segments: string[]): string {
  return join(REPO_ROOT, 'dist', ...segments);
}
