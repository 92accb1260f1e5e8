import { describe, expect, it } from 'vitest';
import { launchCommand, launchEnvironment } from './launch.js';

describe('launchCommand', () => {
  it('starts the sh launcher itself on Linux and macOS', () => {
    expect(launchCommand('linux', '/l/conductor_fx.sh', ['/m/conductor_fx.json', 'a@b'], {})).toEqual({
      file: '/l/conductor_fx.sh',
      args: ['/m/conductor_fx.json', 'a@b'],
      windowsVerbatimArguments: false,
    });
  });

  it('runs the .bat through cmd.exe with every path quoted on Windows', () => {
    expect(launchCommand('win32', 'C:\\A B\\conductor_fx.bat', ['C:\\A B\\conductor_fx.json', 'a@b'], { ComSpec: 'C:\\Windows\\system32\\cmd.exe' })).toEqual({
      file: 'C:\\Windows\\system32\\cmd.exe',
      args: ['/d', '/s', '/c', '""C:\\A B\\conductor_fx.bat" "C:\\A B\\conductor_fx.json" "a@b""'],
      windowsVerbatimArguments: true,
    });
  });
});

describe('launchEnvironment', () => {
  it('gives the host a bare desktop PATH, a private data dir and a free API port on Unix', () => {
    const env = { HOME: '/home/ada', PATH: '/home/ada/.nvm/bin:/usr/bin', CONDUCTOR_FX_DATA_DIR: '/real/data', SECRET: 'x' };
    expect(launchEnvironment('linux', env, '/tmp/status-1')).toEqual({
      HOME: '/home/ada',
      PATH: '/usr/bin:/bin',
      CONDUCTOR_FX_DATA_DIR: '/tmp/status-1',
      CONDUCTOR_FX_API_PORT: '0',
    });
  });

  it('keeps the session environment on Windows but still isolates data dir and port', () => {
    const env = { SystemRoot: 'C:\\Windows', CONDUCTOR_FX_DATA_DIR: 'D:\\real', CONDUCTOR_FX_API_PORT: '7311', UNSET: undefined };
    expect(launchEnvironment('win32', env, 'C:\\Temp\\status-1')).toEqual({
      SystemRoot: 'C:\\Windows',
      CONDUCTOR_FX_DATA_DIR: 'C:\\Temp\\status-1',
      CONDUCTOR_FX_API_PORT: '0',
    });
  });
});
