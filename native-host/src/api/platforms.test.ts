import { describe, expect, it } from 'vitest';
import { FakeExtensionLink, fakeBrowserStatus } from '../../../test/api/fakes.js';
import { KnownPlatforms, platformsIn } from './platforms.js';

describe('KnownPlatforms', () => {
  it('accepts the release platforms without asking the add-on', async () => {
    const link = new FakeExtensionLink();
    const known = new KnownPlatforms(link);
    for (const platform of ['claude', 'chatgpt', 'gemini']) await known.check(platform);
    expect(link.calls).toEqual([]);
  });

  it('learns a platform the add-on reports on first sight, and refuses one it does not with unknown_platform', async () => {
    const link = new FakeExtensionLink().on('browser.status', () => fakeBrowserStatus());
    const known = new KnownPlatforms(link);
    await known.check('mock');
    await known.check('mock');
    expect(link.callsOf('browser.status')).toHaveLength(1);
    await expect(known.check('nowhere')).rejects.toMatchObject({ code: 'unknown_platform', details: { platform: 'nowhere' } });
  });

  it('reads platforms from accounts, tabs, targets and per-platform overrides', () => {
    const status = fakeBrowserStatus();
    status.accounts = [{ ...status.accounts[0]!, platform: 'accounted' }];
    status.tabs = [{ platform: 'tabbed', tabs: 1, containers: [] }];
    status.targets = [{ ...status.targets[0]!, platform: 'targeted' }];
    status.defaults = { ...status.defaults, platformRateLimits: { tuned: {} } };
    expect(platformsIn(status).sort()).toEqual(['accounted', 'tabbed', 'targeted', 'tuned']);
  });
});
