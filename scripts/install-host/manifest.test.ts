import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifest, DEFAULT_EXTENSION_ID, isValidExtensionId, manifestProblems, parseManifest, renderManifest } from './manifest.js';

describe('buildManifest', () => {
  it('holds exactly the five fields Firefox reads', () => {
    const manifest = buildManifest('/opt/launcher.sh', DEFAULT_EXTENSION_ID);
    expect(Object.keys(manifest)).toEqual(['name', 'description', 'path', 'type', 'allowed_extensions']);
    expect(manifest).toMatchObject({ name: 'conductor_fx', path: '/opt/launcher.sh', type: 'stdio', allowed_extensions: ['conductor-fx@conductor.local'] });
  });

  it('round-trips through its rendered text', () => {
    const manifest = buildManifest('/opt/launcher.sh', 'a@b');
    const text = renderManifest(manifest);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseManifest(text)).toEqual(manifest);
  });
});

describe('parseManifest', () => {
  it('rejects text that is not JSON or lacks a field', () => {
    expect(parseManifest('{')).toBeNull();
    expect(parseManifest('{"name":"conductor_fx"}')).toBeNull();
  });
});

describe('manifestProblems', () => {
  it('finds nothing wrong with what install writes', () => {
    expect(manifestProblems(buildManifest('/opt/l.sh', 'a@b'), 'a@b', posix.isAbsolute)).toEqual([]);
  });

  it('names every wrong field', () => {
    const manifest = { name: 'other', description: '', path: 'l.sh', type: 'pipe', allowed_extensions: ['x@y'] };
    const problems = manifestProblems(manifest, 'a@b', posix.isAbsolute);
    expect(problems).toEqual([
      'name is "other", expected "conductor_fx"',
      'type is "pipe", expected "stdio"',
      'allowed_extensions is ["x@y"], which does not list "a@b"',
      'path "l.sh" is not absolute',
    ]);
  });

  it('flags a manifest that lets other add-ons start the host too (they could read its journal and state)', () => {
    const manifest = { ...buildManifest('/opt/l.sh', 'a@b'), allowed_extensions: ['a@b', 'evil@example.com'] };
    expect(manifestProblems(manifest, 'a@b', posix.isAbsolute)).toEqual(['allowed_extensions also lists ["evil@example.com"]; only "a@b" may start the host']);
  });
});

describe('isValidExtensionId', () => {
  it('accepts the email-like and GUID forms and nothing else', () => {
    expect(isValidExtensionId(DEFAULT_EXTENSION_ID)).toBe(true);
    expect(isValidExtensionId('{12345678-abcd-ef01-2345-6789abcdef01}')).toBe(true);
    expect(isValidExtensionId('no-at-sign')).toBe(false);
    expect(isValidExtensionId('a@b c')).toBe(false);
    expect(isValidExtensionId('{not-a-guid}')).toBe(false);
  });
});
