import { z } from 'zod';
import { SafetyLimitsSchema } from './safety-limits.js';
import { PlatformIdSchema } from './platforms.js';

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The longest a caller may ask to wait for admission (max_wait_ms): a day. */
export const MAX_WAIT_MS = 24 * HOUR;

/** Per-platform sliding-window limit; overridable per platform. */
export const RateLimitConfigSchema = z.object({
  /** Dispatches allowed in any window of `windowMs` for one platform. */
  requestsPerMinutePerPlatform: z.number().int().min(1).max(600).default(6),
  windowMs: ms(1_000, HOUR).default(MINUTE),
  /** Minimum gap between two dispatches of one platform (0 = none). */
  minSpacingMs: ms(0, 10 * MINUTE).default(3_000),
});

/**
 * The policy configuration. Every field has a default chosen for one person's automation of a
 * chat platform (README "Configuration" gives the reason for each); out-of-range values are
 * rejected with the field's path.
 */
export const PolicyConfigSchema = z.object({
  concurrency: z
    .object({
      maxInFlightPerTarget: z.number().int().min(1).max(16).default(1),
      /**
       * How long a caller that names no max_wait_ms waits for admission before waiter_timeout: its
       * deadline. Long, for batches: paced to a limit of about one request a minute, the 200th
       * request of a batch is admitted after three hours or more (README "Pacing").
       */
      waiterTimeoutMs: ms(1_000, MAX_WAIT_MS).default(6 * HOUR),
    })
    .prefault({}),
  rateLimit: RateLimitConfigSchema.prefault({}),
  /** Per-platform overrides of the rate limit (e.g. a stricter one for a touchy platform). */
  platformRateLimits: z.record(PlatformIdSchema, RateLimitConfigSchema.partial()).default({}),
  jitter: z
    .object({
      muMs: ms(0, MINUTE).default(1_200),
      sigmaMs: ms(0, MINUTE).default(600),
      minMs: ms(0, MINUTE).default(250),
      maxMs: ms(0, 5 * MINUTE).default(6_000),
    })
    .prefault({})
    .refine((j) => j.minMs <= j.maxMs, { message: 'jitter.minMs must not exceed jitter.maxMs', path: ['minMs'] }),
  backoff: z
    .object({
      strategy: z.enum(['full', 'decorrelated']).default('decorrelated'),
      baseMs: ms(100, HOUR).default(5_000),
      maxMs: ms(1_000, 24 * HOUR).default(10 * MINUTE),
      maxRetryAfterMs: ms(1_000, 24 * HOUR).default(HOUR),
    })
    .prefault({})
    .refine((b) => b.baseMs <= b.maxMs, { message: 'backoff.baseMs must not exceed backoff.maxMs', path: ['baseMs'] }),
  circuitBreaker: z
    .object({
      failureThreshold: z.number().int().min(1).max(100).default(3),
      openMs: ms(1_000, 24 * HOUR).default(5 * MINUTE),
      maxOpenMs: ms(1_000, 7 * 24 * HOUR).default(HOUR),
    })
    .prefault({})
    .refine((c) => c.openMs <= c.maxOpenMs, { message: 'circuitBreaker.openMs must not exceed circuitBreaker.maxOpenMs', path: ['openMs'] }),
  /** The adaptive pace of each account (extension/src/policy/pace.ts); the rate window above is its ceiling. */
  pace: z
    .object({
      /** The slowest pace a cut may reach: one dispatch per this many ms. */
      floorMs: ms(1_000, 24 * HOUR).default(30 * MINUTE),
      /**
       * The least hold after a throttle that names no Retry-After or reset time. A prior for chat
       * platforms, which refill about one request a minute: a shorter hold meets an empty bucket.
       */
      throttleHoldMs: ms(0, HOUR).default(MINUTE),
      /** Successes with work waiting before the gap shrinks one step. */
      raiseAfterSuccesses: z.number().int().min(1).max(10_000).default(20),
      /** Each raise multiplies the gap by this (closer to 1: more cautious). */
      raiseFactor: z.number().min(0.5).max(0.99).default(0.9),
      /** A throttle that taught nothing multiplies the gap by this. */
      cutFactor: z.number().min(1.1).max(10).default(2),
      /** A learned refill interval is widened by this before it is used. */
      margin: z.number().min(1).max(3).default(1.05),
      /** A pin older than this (no throttle since) no longer stops raising: the platform may have loosened. */
      relearnAfterMs: ms(10 * MINUTE, 7 * 24 * HOUR).default(6 * HOUR),
    })
    .prefault({}),
  staleLease: z
    .object({
      idleTimeoutMs: ms(5_000, 24 * HOUR).default(5 * MINUTE),
      sweepIntervalMs: ms(1_000, HOUR).default(30_000),
    })
    .prefault({}),
  persistence: z
    .object({
      debounceMs: ms(0, 10_000).default(25),
      /** Whether a lease found in flight after a restart (outcome unknown) also counts as a failure. */
      interruptedCountsAsFailure: z.boolean().default(false),
    })
    .prefault({}),
  /** Limits of the safety rules that pause a conversation under automation (host side; see shared/conversations.ts). */
  conversationSafety: SafetyLimitsSchema.prefault({}),
});

export type PolicyConfig = z.infer<typeof PolicyConfigSchema>;
export type PolicyConfigInput = z.input<typeof PolicyConfigSchema>;

/** The defaults, fully resolved. */
export const DEFAULT_POLICY_CONFIG: PolicyConfig = PolicyConfigSchema.parse({});

/** One refused field of a policy config: its dotted path and why. */
export interface PolicyConfigIssue {
  path: string;
  message: string;
}

/**
 * Validates a policy config; on refusal, each issue names its field path, and `message` joins them.
 * Unknown keys are refused too (the schema alone would strip them): a misspelt knob would otherwise
 * run its default while the user believes it set.
 */
export function validatePolicyConfig(raw: unknown): { ok: true; config: PolicyConfig } | { ok: false; issues: PolicyConfigIssue[]; message: string } {
  const parsed = PolicyConfigSchema.safeParse(raw);
  const issues = [...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))), ...unknownKeys(raw)];
  if (parsed.success && issues.length === 0) return { ok: true, config: parsed.data };
  return { ok: false, issues, message: issues.map((i) => `${i.path === '' ? '(root)' : i.path}: ${i.message}`).join('; ') };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The keys of a config that are no section or knob (two levels: sections, knobs; overrides take rateLimit's knobs). */
function unknownKeys(raw: unknown): PolicyConfigIssue[] {
  const issues: PolicyConfigIssue[] = [];
  const check = (value: unknown, known: object, prefix: string): void => {
    if (!isObject(value)) return; // a wrong type is the schema's to report
    for (const key of Object.keys(value)) if (!Object.hasOwn(known, key)) issues.push({ path: `${prefix}${key}`, message: 'unknown key' });
  };
  if (!isObject(raw)) return issues;
  check(raw, DEFAULT_POLICY_CONFIG, '');
  for (const [section, value] of Object.entries(raw)) {
    if (section === 'platformRateLimits') {
      if (isObject(value)) for (const [platform, override] of Object.entries(value)) check(override, DEFAULT_POLICY_CONFIG.rateLimit, `platformRateLimits.${platform}.`);
    } else if (Object.hasOwn(DEFAULT_POLICY_CONFIG, section)) {
      check(value, DEFAULT_POLICY_CONFIG[section as keyof PolicyConfig], `${section}.`);
    }
  }
  return issues;
}

/** The longest refusal text a PolicyFileState carries (it rides in the hello answer); the host cuts longer ones. */
export const POLICY_ERROR_MAX_CHARS = 8_192;

/**
 * The user's policy as the host read it from `<data dir>/policy.json`: `config` is the file's
 * object as written (null when the file is missing or refused), `source` the file's path (null
 * when missing), `error` why it was refused (null when valid or missing). The add-on validates
 * `config` again before applying it.
 */
export const PolicyFileStateSchema = z.object({
  config: z.record(z.string(), z.unknown()).nullable(),
  source: z.string().max(4_096).nullable(),
  error: z.string().max(POLICY_ERROR_MAX_CHARS).nullable(),
});
export type PolicyFileState = z.infer<typeof PolicyFileStateSchema>;
