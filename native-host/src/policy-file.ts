import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { POLICY_ERROR_MAX_CHARS, validatePolicyConfig, type PolicyConfigIssue, type PolicyFileState } from '../../shared/policy-config.js';

/** The user's policy knobs, optional, in the data dir. */
export const POLICY_FILE = 'policy.json';

/** policy.json as read: what goes to the add-on, and the refused fields (empty when valid or missing). */
export interface PolicyFileRead {
  state: PolicyFileState;
  issues: PolicyConfigIssue[];
}

/** policy.json is a page of knobs; anything larger is not one (and is not read into memory). */
export const POLICY_FILE_MAX_BYTES = 64 * 1024;

/**
 * Reads `<dataDir>/policy.json` and validates it with PolicyConfigSchema. Missing: no config (the
 * defaults). A symlink, not a regular file, owned by another user than `uid` (default: this
 * process's), over 64 KiB, unreadable, not JSON, not an object or out of range: no config and an
 * error naming each refused field's path, so the add-on keeps the policy it runs.
 */
export function readPolicyFile(dataDir: string, uid: number | undefined = process.getuid?.()): PolicyFileRead {
  const source = join(dataDir, POLICY_FILE);
  let text: string;
  try {
    const read = readOwnFile(source, uid);
    if (read === null) return { state: { config: null, source: null, error: null }, issues: [] };
    if (typeof read !== 'string') return refused(source, read.refused);
    text = read;
  } catch (err) {
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

/**
 * The text of a file only this user could have written: not through a symlink (another user may
 * point one at a file of theirs), a regular file (a FIFO would block the host), owned by `uid`, at
 * most POLICY_FILE_MAX_BYTES. null when missing.
 */
function readOwnFile(path: string, uid: number | undefined): string | null | { refused: string } {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true) return { refused: 'is a symbolic link; put the policy in the file itself' };
  let fd: number;
  try {
    // O_NOFOLLOW closes the gap between the lstat and the open; O_NONBLOCK keeps a FIFO from blocking.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') return { refused: 'is a symbolic link; put the policy in the file itself' };
    throw err;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { refused: 'is not a regular file' };
    if (uid !== undefined && stats.uid !== uid) return { refused: `belongs to uid ${stats.uid}, not to this user (uid ${uid})` };
    const buffer = Buffer.alloc(POLICY_FILE_MAX_BYTES + 1);
    // Reads one byte past the cap at most, whatever size fstat said (the file may grow meanwhile).
    let size = 0;
    while (size < buffer.length) {
      const n = readSync(fd, buffer, size, buffer.length - size, null);
      if (n === 0) break;
      size += n;
    }
    if (size > POLICY_FILE_MAX_BYTES) return { refused: `is over the cap of ${POLICY_FILE_MAX_BYTES} bytes` };
    return buffer.subarray(0, size).toString('utf8');
  } finally {
    closeSync(fd);
  }
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
