import { ConductorError } from '../../../shared/errors.js';
import { RELEASE_PLATFORMS } from '../../../shared/platforms.js';
import type { BrowserStatus } from '../../../shared/status.js';
import type { ExtensionLink } from './context.js';

/** Every platform a browser status names: accounts, tabs, targets, per-platform overrides. */
export function platformsIn(status: BrowserStatus): string[] {
  return [
    ...status.accounts.map((a) => a.platform),
    ...status.tabs.map((t) => t.platform),
    ...status.targets.map((t) => t.platform),
    ...Object.keys(status.defaults.platformRateLimits),
  ];
}

/**
 * The platforms the API accepts: the release ones, plus every one the add-on has reported
 * (the test build's `mock`, configured extras). A name not seen yet costs one browser.status
 * round trip before it is refused; known names cost nothing (the add-on still has the last word).
 */
export class KnownPlatforms {
  private readonly known = new Set<string>(RELEASE_PLATFORMS);

  constructor(private readonly link: ExtensionLink) {}

  /** Adds what a browser status names. */
  learn(status: BrowserStatus): void {
    for (const platform of platformsIn(status)) this.known.add(platform);
  }

  /** Resolves when the platform is known; throws unknown_platform otherwise. */
  async check(platform: string): Promise<void> {
    if (this.known.has(platform)) return;
    this.learn(await this.link.request('browser.status', {}));
    if (!this.known.has(platform)) {
      throw new ConductorError('unknown_platform', `platform "${platform}" is not configured; known: ${[...this.known].sort().join(', ')}`, { platform });
    }
  }
}
