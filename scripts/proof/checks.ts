import type { ProofCheck } from './check.js';
import { crashSoakCheck } from './crash-soak.js';

/** Every check `npm run proof` runs, in order. */
export const CHECKS: ProofCheck[] = [crashSoakCheck];
