/**
 * The background's entry point (esbuild bundles it as background.js): the real browser, the real
 * clock, the build flavour; everything else is in background.ts.
 */
import type { PolicyClock } from '../policy/types.js';
import { startBackground } from './background.js';
import { realBrowserApi } from './browser-api.js';
import { TEST_ORIGIN } from './test-origin.js';

const clock: PolicyClock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

startBackground({
  api: realBrowserApi(),
  clock,
  extensionVersion: __CONDUCTOR_FX_VERSION__,
  testBuild: __TEST_BUILD__,
  // Decided at build time: in the release build esbuild drops this branch and test-origin.ts.
  testOrigin: __TEST_BUILD__ ? TEST_ORIGIN : null,
  // Never handed secrets: callers pass codes, counts and reasons only.
  log: (message, fields) => console.warn(`conductor-fx: ${message}`, fields ?? {}),
});
