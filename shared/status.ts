import { z } from 'zod';
import { ErrorCodeSchema } from './errors.js';
import { ClientIdSchema, ContainerIdSchema, PlatformIdSchema } from './platforms.js';
import { PolicyConfigSchema } from './policy-config.js';
import { CircuitStateSchema, LastErrorSchema } from './policy-state.js';
import { RecoveryReportSchema } from './recovery.js';

const EpochMs = z.number().int().min(0);

/** One account's learned pace, as shown ("pace 1 per 64 s, learned from a 429 12 min ago"). */
export const PaceSnapshotSchema = z.object({
  /** The learned least gap between dispatches, ms; null: nothing learned, the window alone applies. */
  intervalMs: z.number().int().min(1).nullable(),
  /** Whether raising stops at this gap (it was measured, not guessed). */
  pinned: z.boolean(),
  lastCutAt: EpochMs.nullable(),
  /** The error code of the answer that last cut it (upstream_429, usage_cap). */
  lastCutReason: z.string().nullable(),
});
export type PaceSnapshot = z.infer<typeof PaceSnapshotSchema>;

/** One account (a platform through one container) as the engine sees it now: window, holds, circuit, pace. */
export const AccountSnapshotSchema = z.object({
  platform: PlatformIdSchema,
  container: ContainerIdSchema,
  circuitState: CircuitStateSchema,
  consecutiveFailures: z.number().int().min(0),
  trips: z.number().int().min(0),
  circuitRetryAt: EpochMs.nullable(),
  backoffUntil: EpochMs.nullable(),
  lastError: LastErrorSchema.nullable(),
  recentDispatchCount: z.number().int().min(0),
  /** The configured window (the ceiling of the pace). */
  limit: z.number().int().min(1),
  windowMs: z.number().int().min(1),
  /** When the next dispatch may go out (window, hold and pace; null: now). */
  nextSlotAt: EpochMs.nullable(),
  pace: PaceSnapshotSchema,
  inFlight: z.number().int().min(0),
  /** Callers holding their target's slot, waiting for the account. */
  waiting: z.number().int().min(0),
  /** The client ids (targets) that used this account. */
  clients: z.array(ClientIdSchema),
});
export type AccountSnapshot = z.infer<typeof AccountSnapshotSchema>;

/** One target's live state (one client id on one platform): its slot and queue; holds live on its account. */
export const TargetSnapshotSchema = z.object({
  clientId: ClientIdSchema,
  platform: PlatformIdSchema,
  inFlight: z.number().int().min(0),
  waiting: z.number().int().min(0),
  /** Leases found in flight after a restart, outcome unknown. */
  interrupted: z.number().int().min(0),
  lastError: LastErrorSchema.nullable(),
  lastSuccessAt: EpochMs.nullable(),
  lastFailureAt: EpochMs.nullable(),
  lastActivityAt: EpochMs.nullable(),
  lastActivityReason: z.string().nullable(),
  lastStaleSweepAt: EpochMs.nullable(),
  lastStaleSweepIdleMs: z.number().int().min(0).nullable(),
  lastStaleSweepReason: z.string().nullable(),
  lastStaleSweepRequestId: z.string().nullable(),
  staleSweepCount: z.number().int().min(0),
});
export type TargetSnapshot = z.infer<typeof TargetSnapshotSchema>;

/** What the policy engine's getSnapshot() returns. */
export const PolicySnapshotSchema = z.object({
  generatedAt: EpochMs,
  paused: z.object({ paused: z.boolean(), reason: z.string().nullable(), since: EpochMs.nullable() }),
  defaults: PolicyConfigSchema,
  accounts: z.array(AccountSnapshotSchema),
  targets: z.array(TargetSnapshotSchema),
});
export type PolicySnapshot = z.infer<typeof PolicySnapshotSchema>;

/** The host as the add-on sees it. */
export const HostLinkSchema = z.object({
  connected: z.boolean(),
  /** Why it is not connected (Firefox's port.error message, "host not registered", …). */
  reason: z.string().nullable(),
  hostVersion: z.string().nullable(),
  schemaVersion: z.number().int().nullable(),
  dbPath: z.string().nullable(),
  lastSavedAt: EpochMs.nullable(),
  /**
   * Why the host could not store the add-on's last policy write (disk_full, db_error, db_locked),
   * since when; the add-on keeps enforcing from storage.local. Null once the host has caught up.
   */
  storeError: z.object({ code: ErrorCodeSchema, message: z.string(), since: EpochMs }).nullable(),
  lastConnectedAt: EpochMs.nullable(),
  recovery: RecoveryReportSchema.nullable(),
  /** The loopback API as the host reported it at hello. */
  api: z.object({ listening: z.boolean(), port: z.number().int().nullable(), error: z.string().nullable() }).nullable(),
});
export type HostLink = z.infer<typeof HostLinkSchema>;

/** The policy config the add-on runs: where it came from, when it was applied, and why the last one offered was refused. */
export const PolicyConfigStatusSchema = z.object({
  /** The policy.json path the active config came from (null: defaults, the stored copy or the test build's). */
  source: z.string().nullable(),
  /** Why the last policy.json offered was refused (the previous policy stays); null when none was. */
  error: z.string().nullable(),
  appliedAt: EpochMs.nullable(),
});
export type PolicyConfigStatus = z.infer<typeof PolicyConfigStatusSchema>;

/** Live tabs the add-on can relay through, per platform, and the containers (accounts) they are in. */
export const PlatformTabsSchema = z.object({
  platform: PlatformIdSchema,
  tabs: z.number().int().min(0),
  containers: z.array(ContainerIdSchema),
});

/**
 * The browser status: the one document the popup renders and GET /v1/browser returns.
 */
export const BrowserStatusSchema = PolicySnapshotSchema.extend({
  host: HostLinkSchema,
  tabs: z.array(PlatformTabsSchema),
  /** Messages from content scripts / popup dropped for failing validation or the sender check. */
  droppedMessages: z.number().int().min(0),
  extensionVersion: z.string(),
  policyConfig: PolicyConfigStatusSchema,
});
export type BrowserStatus = z.infer<typeof BrowserStatusSchema>;

/** A span in the words of a pace: "64 s", "12 min", "3 h". */
function paceSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

const CUT_WORDS: Record<string, string> = { upstream_429: 'a 429', usage_cap: 'a usage cap' };

/** An account's pace in words, as the popup and the CLI show it: "pace 1 per 64 s, learned from a 429 12 min ago". */
export function describePace(pace: PaceSnapshot, now: number): string {
  if (pace.intervalMs === null) return 'pace: the configured window (nothing learned yet)';
  const head = `pace 1 per ${paceSpan(pace.intervalMs)}${pace.pinned ? ' (measured)' : ''}`;
  if (pace.lastCutAt === null || pace.lastCutReason === null) return head;
  return `${head}, learned from ${CUT_WORDS[pace.lastCutReason] ?? pace.lastCutReason} ${paceSpan(now - pace.lastCutAt)} ago`;
}
