import { describe, expect, it } from 'vitest';
import { parseRegQueryDefault, regAddArgv, regDeleteArgv, regQueryArgv } from './registry.js';

const KEY = 'HKCU\\Software\\Mozilla\\NativeMessagingHosts\\conductor_fx';

describe('reg.exe command lines', () => {
  it('adds, deletes and queries the default value of the key', () => {
    expect(regAddArgv(KEY, 'C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.json')).toEqual([
      'reg', 'add', KEY, '/ve', '/t', 'REG_SZ', '/d', 'C:\\Users\\ada\\AppData\\Local\\conductor-fx\\conductor_fx.json', '/f',
    ]);
    expect(regDeleteArgv(KEY)).toEqual(['reg', 'delete', KEY, '/f']);
    expect(regQueryArgv(KEY)).toEqual(['reg', 'query', KEY, '/ve']);
  });
});

describe('parseRegQueryDefault', () => {
  it('reads the value whatever the label is called in the Windows language', () => {
    const english = `\r\n${KEY}\r\n    (Default)    REG_SZ    C:\\Program Files\\x\\conductor_fx.json\r\n\r\n`;
    const german = `\r\n${KEY}\r\n    (Standard)    REG_SZ    C:\\x\\conductor_fx.json\r\n\r\n`;
    expect(parseRegQueryDefault(english)).toBe('C:\\Program Files\\x\\conductor_fx.json');
    expect(parseRegQueryDefault(german)).toBe('C:\\x\\conductor_fx.json');
  });

  it('finds nothing in output without a string value', () => {
    expect(parseRegQueryDefault(`\r\n${KEY}\r\n\r\n`)).toBeNull();
    expect(parseRegQueryDefault('')).toBeNull();
  });
});
