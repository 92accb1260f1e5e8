import { z } from 'zod';

/** A platform id: a short lowercase name (claude, chatgpt, gemini, or one added by config). */
export const PlatformIdSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'platform must be a short lowercase id');
export type PlatformId = z.infer<typeof PlatformIdSchema>;

/** A client id: who is automating (an agent, a script); one target is one client on one platform. */
export const ClientIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'client id may hold letters, digits and . _ : @ -');
export type ClientId = z.infer<typeof ClientIdSchema>;

/** The client id used when a request names none. */
export const DEFAULT_CLIENT_ID = 'default';

/** The release build's platforms and the one origin each is served from; the manifest's host permissions are exactly these. */
export const PLATFORM_ORIGINS = {
  claude: 'https://claude.ai',
  chatgpt: 'https://chatgpt.com',
  gemini: 'https://gemini.google.com',
} as const satisfies Record<string, string>;

export const RELEASE_PLATFORMS = Object.keys(PLATFORM_ORIGINS) as (keyof typeof PLATFORM_ORIGINS)[];

/** The platform id the test build adds for its loopback mock server. */
export const TEST_PLATFORM = 'mock' as const;

/** A target: one client on one platform. */
export const TargetSchema = z.object({ clientId: ClientIdSchema, platform: PlatformIdSchema });
export type Target = z.infer<typeof TargetSchema>;

/** The stable key of a target, used in maps and DB rows. */
export function targetKey(t: Target): string {
  return `${t.platform}/${t.clientId}`;
}

/** Firefox's cookie store of tabs outside any container: the container a request names by default. */
export const DEFAULT_CONTAINER = 'firefox-default';

/** A Firefox container (cookieStoreId): whose logged-in session a request uses. */
export const ContainerIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'container may hold letters, digits and . _ : @ -');
export type ContainerId = z.infer<typeof ContainerIdSchema>;

/** An account: one platform as seen through one container's session; the unit the policy protects. */
export const AccountSchema = z.object({ platform: PlatformIdSchema, container: ContainerIdSchema });
export type Account = z.infer<typeof AccountSchema>;

/** The stable key of an account, used in maps and DB rows. */
export function accountKey(a: Account): string {
  return `${a.platform}/${a.container}`;
}
