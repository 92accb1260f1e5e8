import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { POLICY_ERROR_MAX_CHARS, PolicyFileStateSchema } from '../../shared/policy-config.js';
import { POLICY_FILE, POLICY_FILE_MAX_BYTES, readPolicyFile } from './policy-file.js';

describe('readPolicyFile', () => {
  const dirs: string[] = [];
  const dir = (content?: string): string => {
    const d = mkdtempSync(join(tmpdir(), 'cfx-policy-'));
    dirs.push(d);
    if (content !== undefined) writeFileSync(join(d, POLICY_FILE), content);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a missing file is no config (the defaults), no source, no error', () => {
    expect(readPolicyFile(dir())).toEqual({ state: { config: null, source: null, error: null }, issues: [] });
  });

  it('a valid file passes on the object as written, with its path', () => {
    const d = dir('{"rateLimit": {"requestsPerMinutePerPlatform": 4}}');
    expect(readPolicyFile(d)).toEqual({ state: { config: { rateLimit: { requestsPerMinutePerPlatform: 4 } }, source: join(d, POLICY_FILE), error: null }, issues: [] });
  });

  it('an out-of-range value is refused with its field path', () => {
    const read = readPolicyFile(dir('{"rateLimit": {"requestsPerMinutePerPlatform": 0}, "jitter": {"minMs": 9000, "maxMs": 10}}'));
    expect(read.state.config).toBeNull();
    expect(read.issues.map((i) => i.path)).toEqual(['rateLimit.requestsPerMinutePerPlatform', 'jitter.minMs']);
    expect(read.state.error).toMatch(/^rateLimit\.requestsPerMinutePerPlatform: .*; jitter\.minMs: jitter\.minMs must not exceed jitter\.maxMs$/);
  });

  it('a file that is not JSON, or not an object, is refused', () => {
    expect(readPolicyFile(dir('{"rateLimit":')).state.error).toMatch(/^is not JSON: /);
    expect(readPolicyFile(dir('[1]')).state).toMatchObject({ config: null, error: 'must hold a JSON object of policy knobs' });
  });

  it('cuts a long refusal to what the hello answer may carry (a bad file must not cost the add-on its host); details keep every issue', () => {
    const platforms = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, { requestsPerMinutePerPlatform: 0 }]));
    const read = readPolicyFile(dir(JSON.stringify({ platformRateLimits: platforms })));
    expect(read.issues).toHaveLength(300);
    expect(PolicyFileStateSchema.safeParse(read.state).success).toBe(true);
    expect(read.state.error).toMatch(/^platformRateLimits\.p0\.requestsPerMinutePerPlatform: .* characters in all; the rest: see details\.issues of POST \/v1\/policy\/reload\)$/);
    expect(read.state.error?.length).toBe(POLICY_ERROR_MAX_CHARS);
  });

  it('refuses a symlink, even to a valid file of the user', () => {
    const d = dir();
    const target = join(d, 'elsewhere.json');
    writeFileSync(target, '{}');
    symlinkSync(target, join(d, POLICY_FILE));
    const read = readPolicyFile(d);
    expect(read.state).toEqual({ config: null, source: join(d, POLICY_FILE), error: expect.stringContaining('symbolic link') });
  });

  it('refuses a file over 64 KiB without parsing it, and takes one at the cap', () => {
    const knobs = '{"rateLimit": {"requestsPerMinutePerPlatform": 4}}';
    const padded = (bytes: number) => `${knobs}${' '.repeat(bytes - knobs.length)}`;
    expect(padded(POLICY_FILE_MAX_BYTES).length).toBe(POLICY_FILE_MAX_BYTES);
    expect(readPolicyFile(dir(padded(POLICY_FILE_MAX_BYTES))).state.error).toBeNull();
    expect(readPolicyFile(dir(padded(POLICY_FILE_MAX_BYTES + 1))).state).toMatchObject({ config: null, error: expect.stringContaining(`over the cap of ${POLICY_FILE_MAX_BYTES} bytes`) });
  });

  it('refuses a file owned by another user', () => {
    const d = dir('{}');
    const other = process.getuid!() + 1;
    expect(readPolicyFile(d, other).state).toMatchObject({ config: null, error: expect.stringContaining(`not to this user (uid ${other})`) });
    expect(readPolicyFile(d).state.error).toBeNull();
  });

  it('refuses a FIFO instead of blocking on it', () => {
    const d = dir();
    execFileSync('mkfifo', [join(d, POLICY_FILE)]);
    expect(readPolicyFile(d).state.error).toContain('not a regular file');
  });
});
