import { apiFuzzCheck } from './api-fuzz.js';
import type { ProofCheck } from './check.js';
import { crashSoakCheck } from './crash-soak.js';
import { frameFuzzCheck } from './frame-fuzz.js';

/** Every check `npm run proof` runs, in order. */
export const CHECKS: ProofCheck[] = [crashSoakCheck, frameFuzzCheck, apiFuzzCheck];
