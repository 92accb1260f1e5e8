import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICY_ERROR_MAX_CHARS, validatePolicyConfig, type PolicyConfigIssue, type PolicyFileState } from '../../shared/policy-config.js';

/** The user's policy knobs, optional, in the data dir. */
export const POLICY_FILE = 'policy.json';

/** policy.json as read: what goes to the add-on, and the refused fields (empty when valid or missing). */
export interface PolicyFileRead {
  state: PolicyFileState;
  issues: PolicyConfigIssue[];
}

/**
 * Reads `<dataDir>/policy.json` and validates it with PolicyConfigSchema. Missing: no config (the
 * defaults). Unreadable, not JSON, not an object or out of range: no config and an error naming
 * each refused field's path, so the add-on keeps the policy it runs.
 */
export function readPolicyFile(dataDir: string): PolicyFileRead {
  const source = join(dataDir, POLICY_FILE);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: { config: null, source: null, error: null }, issues: [] };
    return refused(source, `could not be read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return refused(source, `is not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return refused(source, 'must hold a JSON object of policy knobs');
  const checked = validatePolicyConfig(raw);
  if (!checked.ok) return { state: { config: null, source, error: fitted(checked.message) }, issues: checked.issues };
  return { state: { config: raw as Record<string, unknown>, source, error: null }, issues: [] };
}

function refused(source: string, message: string): PolicyFileRead {
  return { state: { config: null, source, error: fitted(message) }, issues: [{ path: '', message }] };
}

/** The refusal cut to what the hello answer may carry (longer would fail the hello, and the add-on could not connect). */
function fitted(message: string): string {
  if (message.length <= POLICY_ERROR_MAX_CHARS) return message;
  const tail = ` … (${message.length} characters in all; the rest: see details.issues of POST /v1/policy/reload)`;
  return message.slice(0, POLICY_ERROR_MAX_CHARS - tail.length) + tail;
}
