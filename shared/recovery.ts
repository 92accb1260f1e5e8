import { z } from 'zod';

/** What the host's restart recovery did on this start. */
export const RecoveryReportSchema = z.object({
  startedAt: z.number().int(),
  durationMs: z.number().min(0),
  recoveredExecutionStateCount: z.number().int().min(0),
  requeuedRenewalJobCount: z.number().int().min(0),
  interruptedRequestCount: z.number().int().min(0),
  recoveryNextAttemptAt: z.number().int().nullable(),
});
export type RecoveryReport = z.infer<typeof RecoveryReportSchema>;
