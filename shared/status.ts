import { z } from 'zod';
import { ErrorCodeSchema } from './errors.js';
import { ClientIdSchema, PlatformIdSchema } from './platforms.js';
import { PolicyConfigSchema } from './policy-config.js';
import { CircuitStateSchema, LastErrorSchema } from './policy-state.js';
import { RecoveryReportSchema } from './recovery.js';

const EpochMs = z.number().int().min(0);

/** One platform's window as the engine sees it now. */
export const PlatformSnapshotSchema = z.object({
  platform: PlatformIdSchema,
  recentDispatchCount: z.number().int().min(0),
  limit: z.number().int().min(1),
  windowMs: z.number().int().min(1),
  /** When the next dispatch may go out (null: now). */
  nextSlotAt: EpochMs.nullable(),
});
export type PlatformSnapshot = z.infer<typeof PlatformSnapshotSchema>;

/** One target's live state. */
export const TargetSnapshotSchema = z.object({
  clientId: ClientIdSchema,
  platform: PlatformIdSchema,
  circuitState: CircuitStateSchema,
  consecutiveFailures: z.number().int().min(0),
  trips: z.number().int().min(0),
  backoffUntil: EpochMs.nullable(),
  circuitRetryAt: EpochMs.nullable(),
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
  platforms: z.array(PlatformSnapshotSchema),
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

/** Live tabs the add-on can relay through, per platform. */
export const PlatformTabsSchema = z.object({
  platform: PlatformIdSchema,
  tabs: z.number().int().min(0),
  clients: z.array(ClientIdSchema),
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
