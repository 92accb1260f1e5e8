import { z } from 'zod';

/** The native-messaging host name the add-on passes to `runtime.connectNative`. */
export const HOST_NAME = 'conductor_fx';

/** The add-on id of conductor-fx (its `browser_specific_settings.gecko.id`). */
export const DEFAULT_EXTENSION_ID = 'conductor-fx@conductor.local';

const DESCRIPTION = 'conductor-fx native host: policy state, request journal and loopback API for the conductor-fx add-on';

// The two id forms Firefox accepts: an email-like id or a braced GUID.
const EXTENSION_ID = /^(?:[A-Za-z0-9._-]*@[A-Za-z0-9._-]+|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\})$/;

/** The host manifest Firefox reads: exactly these fields, nothing else. */
const HostManifestSchema = z.object({
  name: z.string(),
  description: z.string(),
  path: z.string(),
  type: z.string(),
  allowed_extensions: z.array(z.string()),
});
export type HostManifest = z.infer<typeof HostManifestSchema>;

/** Whether a string has the shape of a Firefox add-on id. */
export function isValidExtensionId(id: string): boolean {
  return EXTENSION_ID.test(id);
}

/** Builds the manifest that registers the launcher for one add-on. */
export function buildManifest(launcherPath: string, extensionId: string): HostManifest {
  return { name: HOST_NAME, description: DESCRIPTION, path: launcherPath, type: 'stdio', allowed_extensions: [extensionId] };
}

/** The manifest as written to disk. */
export function renderManifest(manifest: HostManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Parses manifest text; null when it is not JSON of the manifest's shape. */
export function parseManifest(text: string): HostManifest | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = HostManifestSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** What is wrong with a parsed manifest for this add-on, one sentence each; empty when it is right. */
export function manifestProblems(manifest: HostManifest, extensionId: string, isAbsolute: (path: string) => boolean): string[] {
  const problems: string[] = [];
  if (manifest.name !== HOST_NAME) problems.push(`name is "${manifest.name}", expected "${HOST_NAME}"`);
  if (manifest.type !== 'stdio') problems.push(`type is "${manifest.type}", expected "stdio"`);
  if (!manifest.allowed_extensions.includes(extensionId)) {
    problems.push(`allowed_extensions is ${JSON.stringify(manifest.allowed_extensions)}, which does not list "${extensionId}"`);
  }
  const others = manifest.allowed_extensions.filter((id) => id !== extensionId);
  if (others.length > 0 && others.length < manifest.allowed_extensions.length) {
    problems.push(`allowed_extensions also lists ${JSON.stringify(others)}; only "${extensionId}" may start the host`);
  }
  // Firefox on Linux and macOS only accepts an absolute path.
  if (!isAbsolute(manifest.path)) problems.push(`path "${manifest.path}" is not absolute`);
  return problems;
}
