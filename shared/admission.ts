import { z } from 'zod';

/** How an admission went: when the lease was granted and what each policy stage cost in waiting. */
export const AdmissionSchema = z.object({
  admittedAt: z.number().int().min(0),
  queueDelayMs: z.number().min(0),
  backoffDelayMs: z.number().min(0),
  rateLimitDelayMs: z.number().min(0),
  jitterDelayMs: z.number().min(0),
  /** Whether this lease is the single half-open probe. */
  probe: z.boolean(),
});
export type Admission = z.infer<typeof AdmissionSchema>;
