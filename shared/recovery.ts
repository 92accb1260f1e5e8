import { z } from 'zod';

/** What the host's restart recovery did on this start. */
export const RecoveryReportSchema = z.object({
  startedAt: z.number().int(),
  durationMs: z.number().min(0),
  recoveredExecutionStateCount: z.number().int().min(0),
  requeuedRenewalJobCount: z.number().int().min(0),
  interruptedRequestCount: z.number().int().min(0),
  /** Jobs running when the host stopped: back to pending (after the recovery delay), or failed (on_interrupt: fail, attempts used up). Optional: older hosts send neither. */
  requeuedJobCount: z.number().int().min(0).optional(),
  failedJobCount: z.number().int().min(0).optional(),
  recoveryNextAttemptAt: z.number().int().nullable(),
});
export type RecoveryReport = z.infer<typeof RecoveryReportSchema>;
