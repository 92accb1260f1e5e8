import { z } from 'zod';

/**
 * The safety rules' limits (policy.json section `conversationSafety`). Each pauses a conversation
 * on its own, with the reason, when reached. Defaults: 3 consecutive failures, as the circuit
 * breaker's threshold (a conversation failing that often is broken, not unlucky); the same message
 * 3 times in a row (automation repeating a prompt is nearly always a loop, and looks like a bot);
 * the same renewal 5 times in a row (renewals repeat by design, but an unchanged one for hours
 * is a schedule nobody watches).
 */
export const SafetyLimitsSchema = z.object({
  maxConsecutiveFailures: z.number().int().min(1).max(100).default(3),
  maxRepeatedMessages: z.number().int().min(1).max(100).default(3),
  maxRepeatedRenewals: z.number().int().min(1).max(1_000).default(5),
});
export type SafetyLimits = z.infer<typeof SafetyLimitsSchema>;
