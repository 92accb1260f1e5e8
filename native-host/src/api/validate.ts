import type { z } from 'zod';
import { ConductorError } from '../../../shared/errors.js';
import { issueList } from '../../../shared/rpc.js';

/** Parses API input with its schema; a mismatch is bad_payload with the failing fields in details.issues. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConductorError('bad_payload', `${what} is invalid`, { issues: issueList(parsed.error) });
  return parsed.data;
}
