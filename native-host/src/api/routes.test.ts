import { describe, expect, it } from 'vitest';
import { FakeExtensionLink, MemoryJournal, MemoryLogger, fakeHostStatus, thrownCode } from '../../../test/api/fakes.js';
import { readPolicyFile } from '../policy-file.js';
import { createRoutes, matchRoute } from './routes.js';

const routes = createRoutes({ dataDir: '/d', port: 0, extension: new FakeExtensionLink(), journal: new MemoryJournal(), hostStatus: () => fakeHostStatus('/d'), reloadPolicy: () => readPolicyFile('/d'), log: new MemoryLogger(), now: () => 0 });

describe('matchRoute', () => {
  it('finds each route by method and path, with decoded path parameters', () => {
    expect(matchRoute(routes, 'GET', '/v1/browser').route.name).toBe('browser');
    expect(matchRoute(routes, 'POST', '/v1/browser/request').route.name).toBe('relay');
    expect(matchRoute(routes, 'POST', '/v1/system/pause').route.name).toBe('pause');
    expect(matchRoute(routes, 'POST', '/v1/system/resume').route.name).toBe('resume');
    expect(matchRoute(routes, 'POST', '/v1/policy/reload').route.name).toBe('policy-reload');
    expect(matchRoute(routes, 'GET', '/v1/journal').route.name).toBe('journal');
    expect(matchRoute(routes, 'POST', '/v1/browser/targets/claude/agent%40home/reset')).toMatchObject({ route: { name: 'reset' }, params: ['claude', 'agent@home'] });
  });

  it('answers not_found for another method or path, and bad_payload for broken percent-encoding', () => {
    expect(thrownCode(() => matchRoute(routes, 'GET', '/v1/system/pause'))).toBe('not_found');
    expect(thrownCode(() => matchRoute(routes, 'GET', '/v1/browser/'))).toBe('not_found');
    expect(thrownCode(() => matchRoute(routes, 'POST', '/v1/browser/targets/a/b/c/reset'))).toBe('not_found');
    expect(thrownCode(() => matchRoute(routes, 'POST', '/v1/browser/targets/%E0%A4%A/x/reset'))).toBe('bad_payload');
  });
});
