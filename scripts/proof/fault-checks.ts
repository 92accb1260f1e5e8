import type { ProofCheck } from './check.js';
import { browserCrashCheck } from './browser-crash.js';
import { clockJumpsCheck } from './clock-jumps.js';
import { diskFullCheck } from './disk-full.js';
import { secretsCheck } from './secrets.js';

/** The fault checks of `npm run proof` (issue 12: 2, 5, 6, 7), spread into CHECKS by checks.ts. */
export const FAULT_CHECKS: ProofCheck[] = [browserCrashCheck, diskFullCheck, clockJumpsCheck, secretsCheck];
