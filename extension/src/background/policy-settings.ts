import { validatePolicyConfig, type PolicyConfig, type PolicyConfigInput, type PolicyFileState } from '../../../shared/policy-config.js';
import type { PolicyConfigStatus } from '../../../shared/status.js';
import type { PolicyEngineApi } from '../policy/types.js';
import type { BrowserApi } from './browser-api.js';

/** The storage.local key of the config the user last set (policy.json, through the host). */
export const POLICY_CONFIG_KEY = 'conductorFx.policyConfig';

/** The storage.local key the test build reads its policy config from (the e2e rig writes it); it wins over everything. */
export const TEST_POLICY_KEY = 'conductorFx.testPolicyConfig';

/** The engine calls the settings need. */
export type ConfigurableEngine = Pick<PolicyEngineApi, 'reconfigure'> & { readonly config: PolicyConfig };

export interface PolicySettingsDeps {
  api: Pick<BrowserApi, 'storageGet' | 'storageSet'>;
  engine: Promise<ConfigurableEngine>;
  now(): number;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

/** What is kept under POLICY_CONFIG_KEY. */
interface StoredPolicy {
  config: PolicyConfig;
  source: string | null;
  appliedAt: number | null;
}

/** JSON with object keys sorted, so two equal configs compare equal whatever order their keys came in. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The user's policy config in the add-on: the one to start the engine with (the test build's, else
 * the last one applied, kept in storage.local so a browser restart without the host keeps it), and
 * the policy.json the host offers on each hello and policy.configure: a valid one that differs from
 * the active config is applied live and stored; a refused one leaves the previous policy running
 * and its error is kept for the popup and GET /v1/browser.
 */
export class PolicySettings {
  private status: PolicyConfigStatus = { source: null, error: null, appliedAt: null };
  /** The test build's config is in force: offers from the host are not applied. */
  private pinned = false;
  /** Offers run one after another (a hello and a reload may cross). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly deps: PolicySettingsDeps) {}

  /** Where the active config came from and why the last offer was refused. */
  get state(): PolicyConfigStatus {
    return { ...this.status };
  }

  /** Called after every change of `state`. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The config to create the engine with: the test build's when present (it then wins), else the stored one; undefined = defaults. */
  async initialConfig(testBuild: boolean): Promise<PolicyConfigInput | undefined> {
    const stored = await this.deps.api.storageGet(testBuild ? [TEST_POLICY_KEY, POLICY_CONFIG_KEY] : [POLICY_CONFIG_KEY]);
    if (testBuild && stored[TEST_POLICY_KEY] !== undefined) {
      const test = validatePolicyConfig(stored[TEST_POLICY_KEY]);
      if (test.ok) {
        this.pinned = true;
        return test.config;
      }
      this.deps.log('ignoring an invalid test policy config', { issues: test.issues.map((i) => `${i.path}: ${i.message}`) });
    }
    const raw = stored[POLICY_CONFIG_KEY] as Partial<StoredPolicy> | undefined;
    if (raw === undefined || raw === null || typeof raw !== 'object') return undefined;
    const kept = validatePolicyConfig(raw.config);
    if (!kept.ok) {
      this.deps.log('ignoring an invalid stored policy config; using the defaults', { error: kept.message });
      return undefined;
    }
    // Keeps the error of a refusal offered while storage was read (a hello can come first).
    this.status = { source: typeof raw.source === 'string' ? raw.source : null, error: this.status.error, appliedAt: typeof raw.appliedAt === 'number' ? raw.appliedAt : null };
    return kept.config;
  }

  /** Takes the host's policy.json (hello, policy.configure); `applied`: the add-on now runs it. */
  offer(policy: PolicyFileState): Promise<{ applied: boolean }> {
    const run = this.queue.then(() => this.apply(policy));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(policy: PolicyFileState): Promise<{ applied: boolean }> {
    if (this.pinned) {
      this.deps.log('policy.json not applied: the test build runs the policy from storage.local', { source: policy.source });
      return { applied: false };
    }
    const checked = policy.error === null ? validatePolicyConfig(policy.config ?? {}) : null;
    const error = policy.error ?? (checked !== null && !checked.ok ? checked.message : null);
    if (error !== null || checked === null || !checked.ok) {
      this.deps.log('policy.json refused; the previous policy stays', { source: policy.source, error });
      this.set({ ...this.status, error });
      return { applied: false };
    }
    const engine = await this.deps.engine;
    if (canonicalJson(engine.config) === canonicalJson(checked.config)) {
      this.set({ ...this.status, source: policy.source, error: null });
      return { applied: true };
    }
    engine.reconfigure(checked.config);
    const appliedAt = this.deps.now();
    this.set({ source: policy.source, error: null, appliedAt });
    this.deps.log('policy config applied', { source: policy.source });
    const stored: StoredPolicy = { config: checked.config, source: policy.source, appliedAt };
    try {
      await this.deps.api.storageSet({ [POLICY_CONFIG_KEY]: stored });
    } catch (err) {
      // It runs now; only a browser restart without the host would fall back to the previous copy.
      this.deps.log('could not store the policy config', { error: err instanceof Error ? err.message : String(err) });
    }
    return { applied: true };
  }

  private set(next: PolicyConfigStatus): void {
    this.status = next;
    for (const l of this.listeners) l();
  }
}
