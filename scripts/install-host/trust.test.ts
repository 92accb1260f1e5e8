import { describe, expect, it } from 'vitest';
import { describeOwner, launchedPaths, systemTrustProblems, type PathOwner } from './trust.js';

const dir = (path: string, uid: number, mode: number): PathOwner => ({ path, uid, mode: 0o40000 | mode, isDirectory: true });
const file = (path: string, uid: number, mode: number): PathOwner => ({ path, uid, mode: 0o100000 | mode, isDirectory: false });

describe('systemTrustProblems', () => {
  it('accepts files and directories that are root\'s and writable by root alone, and a sticky directory above (/tmp)', () => {
    expect(systemTrustProblems([file('/opt/cfx/host.mjs', 0, 0o644), dir('/opt/cfx', 0, 0o755), dir('/tmp', 0, 0o1777), dir('/', 0, 0o755)])).toEqual([]);
  });

  it('names every file or directory of another user, and every one others may write', () => {
    expect(systemTrustProblems([file('/home/ada/cfx/host.mjs', 1000, 0o644), dir('/home/ada/cfx', 1000, 0o775), dir('/home', 0, 0o755), dir('/', 0, 0o755)])).toEqual([
      '/home/ada/cfx/host.mjs belongs to uid 1000, not root',
      '/home/ada/cfx belongs to uid 1000, not root',
      '/home/ada/cfx is writable by group or others (mode 775)',
    ]);
    // The sticky bit protects what is in a directory, not the file itself.
    expect(systemTrustProblems([file('/opt/host.mjs', 0, 0o1666)])).toEqual(['/opt/host.mjs is writable by group or others (mode 1666)']);
  });
});

describe('launchedPaths', () => {
  it('is node, the host and the node_modules of the checkout the host is built in', () => {
    expect(launchedPaths('linux', '/usr/bin/node', '/opt/cfx/dist/native-host/host.mjs')).toEqual(['/usr/bin/node', '/opt/cfx/dist/native-host/host.mjs', '/opt/cfx/node_modules']);
    expect(describeOwner(0)).toBe('uid 0 (root)');
    expect(describeOwner(501)).toBe('uid 501');
  });
});
