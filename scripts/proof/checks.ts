import { apiFuzzCheck } from './api-fuzz.js';
import { browserCrashCheck } from './browser-crash.js';
import type { ProofCheck } from './check.js';
import { clockJumpsCheck } from './clock-jumps.js';
import { crashSoakCheck } from './crash-soak.js';
import { diskFullCheck } from './disk-full.js';
import { frameFuzzCheck } from './frame-fuzz.js';
import { secretsCheck } from './secrets.js';

/** Every check `npm run proof` runs, in the order of issue 12's list. */
export const CHECKS: ProofCheck[] = [crashSoakCheck, browserCrashCheck, frameFuzzCheck, apiFuzzCheck, diskFullCheck, clockJumpsCheck, secretsCheck];
