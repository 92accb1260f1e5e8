import { z } from 'zod';

const ms = z.number().int().min(0);
const positiveMs = z.number().int().min(1);

/** The hidden limit: a token bucket holding `capacity` requests, refilled by `refill` every `periodMs` (continuously). */
const BucketSchema = z.strictObject({
  capacity: z.number().min(1),
  refill: z.number().positive(),
  periodMs: positiveMs,
});

/**
 * One simulated chat platform and the work sent to it. Times are ms of virtual time from the start
 * of a run. README "The simulator" documents every field.
 */
export const ProfileSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and dashes'),
  /** What the profile models, for the README and the chart. */
  description: z.string().max(300).optional(),
  horizonMs: positiveMs.max(7 * 24 * 3_600_000),
  /** Seeded runs to average. */
  seeds: z.number().int().min(1).max(100),
  server: z.strictObject({
    bucket: BucketSchema,
    /** The limit changes at `atMs` (the bucket keeps its tokens, cut to the new capacity). */
    quotaChanges: z.array(BucketSchema.extend({ atMs: ms })).default([]),
    /** What a 429 says: the exact wait for the next token, nothing, or always the same wait. */
    retryAfter: z.union([z.literal('exact'), z.literal('none'), z.strictObject({ fixedMs: positiveMs })]),
    /** Refuse with a usage-cap JSON body (reset time inside, no Retry-After) instead of a bare 429. */
    capBody: z.boolean().default(false),
    /**
     * The account is flagged when `max429InWindow` refusals fall within any `windowMs`, or when more
     * than `maxRequestsPer60s` requests arrive within any 60 s; once flagged every answer is 403.
     */
    flag: z.strictObject({
      max429InWindow: z.number().int().min(1),
      windowMs: positiveMs,
      maxRequestsPer60s: z.number().int().min(1),
    }),
    /** Spans where every answer is `status` (0 = no answer: a network error) and no token is taken. */
    outages: z.array(z.strictObject({ fromMs: ms, toMs: ms, status: z.number().int().min(0).max(599) })).default([]),
    /** How long a served answer takes, uniform in [min, max]. */
    replyMs: z.tuple([ms, ms]).refine(([lo, hi]) => lo <= hi, 'replyMs: min must not exceed max'),
  }),
  workload: z.strictObject({
    /** batches: `batchSize` jobs at a time, evenly over spanMs; burst: all at 0; poisson: random arrivals over spanMs. */
    kind: z.enum(['batches', 'burst', 'poisson']),
    total: z.number().int().min(1).max(100_000),
    spanMs: ms,
    /** Conversations (client ids) of the one account; a job goes to one, each serves one at a time. */
    targets: z.number().int().min(1).max(1_000),
    batchSize: z.number().int().min(1).default(10),
    /** The caller's budget of tries per job, the same for every strategy. */
    tries: z.number().int().min(1).max(100).default(5),
  }),
});

export type Profile = z.infer<typeof ProfileSchema>;
export type ServerSpec = Profile['server'];
export type Bucket = z.infer<typeof BucketSchema>;

/** A profile file that failed its schema; `issues` name each field by its path (e.g. `profiles.2.server.bucket.refill`). */
export class ProfileError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid profile file: ${issues.map((i) => `${i.path === '' ? '(root)' : i.path}: ${i.message}`).join('; ')}`);
    this.name = 'ProfileError';
  }
}

/** Validates a parsed profile file; throws ProfileError naming every refused field. */
export function parseProfiles(raw: unknown): Profile[] {
  // The list form is checked alone so that its errors carry plain paths (`0.server…`), not union noise.
  const schema = Array.isArray(raw) ? z.array(ProfileSchema).min(1) : z.strictObject({ profiles: z.array(ProfileSchema).min(1) });
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    // An unknown key is named in its own path: a misspelt field would otherwise silently keep its default.
    throw new ProfileError(
      parsed.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ path: [...i.path, k].join('.'), message: 'unknown key' })) : [{ path: i.path.join('.'), message: i.message }])),
    );
  }
  const profiles = Array.isArray(parsed.data) ? parsed.data : parsed.data.profiles;
  const names = new Set<string>();
  const issues: { path: string; message: string }[] = [];
  profiles.forEach((p, i) => {
    const at = Array.isArray(raw) ? `${i}` : `profiles.${i}`;
    if (names.has(p.name)) issues.push({ path: `${at}.name`, message: `duplicate profile name "${p.name}"` });
    names.add(p.name);
    p.server.outages.forEach((o, k) => {
      if (o.toMs <= o.fromMs) issues.push({ path: `${at}.server.outages.${k}.toMs`, message: 'must be after fromMs' });
    });
  });
  if (issues.length > 0) throw new ProfileError(issues);
  return profiles;
}
