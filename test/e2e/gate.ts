import { findFirefox } from '../helpers/firefox.js';

/**
 * The Firefox the end-to-end suite drives, or null when there is none: the suite is then
 * reported skipped with a loud line, never passed. When CONDUCTOR_FX_REQUIRE_FIREFOX=1 (CI) a
 * missing Firefox throws instead, which fails the test file.
 */
export function e2eFirefox(env: NodeJS.ProcessEnv = process.env): string | null {
  const firefox = findFirefox(env);
  if (firefox !== null) return firefox;
  const message = 'Firefox e2e NOT RUN: firefox-esr not found (install firefox-esr or set CONDUCTOR_FX_FIREFOX)';
  if (env['CONDUCTOR_FX_REQUIRE_FIREFOX'] === '1') throw new Error(`${message}; CONDUCTOR_FX_REQUIRE_FIREFOX=1 requires it`);
  console.warn(message);
  return null;
}
