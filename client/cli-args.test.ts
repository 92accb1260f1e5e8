import { describe, expect, it } from 'vitest';
import { UsageError, parseCli } from './cli-args.js';

describe('parseCli', () => {
  it('parses a request with every option', () => {
    expect(
      parseCli(['request', 'mock', 'post', '/api/chat', '--body', '{"a":1}', '--header', 'content-type: application/json', '--header', 'x-a:b', '--stream', '--client', 'bot', '--request-id', 'r-1', '--max-wait-ms', '500', '--data-dir', '/d']),
    ).toEqual({
      dataDir: '/d',
      command: { name: 'request', platform: 'mock', method: 'POST', path: '/api/chat', body: '{"a":1}', headers: { 'content-type': 'application/json', 'x-a': 'b' }, stream: true, clientId: 'bot', requestId: 'r-1', maxWaitMs: 500, json: false },
    });
  });

  it('parses status, journal, reset, pause and resume with their defaults', () => {
    expect(parseCli(['status', '--json']).command).toEqual({ name: 'status', json: true, platform: undefined });
    expect(parseCli(['journal']).command).toEqual({ name: 'journal', limit: 20, platform: undefined, json: false });
    expect(parseCli(['journal', '--limit', '5', '--platform', 'claude']).command).toEqual({ name: 'journal', limit: 5, platform: 'claude', json: false });
    expect(parseCli(['reset', 'claude']).command).toEqual({ name: 'reset', platform: 'claude', clientId: 'default' });
    expect(parseCli(['reset', 'claude', 'bot']).command).toEqual({ name: 'reset', platform: 'claude', clientId: 'bot' });
    expect(parseCli(['pause', 'going', 'to', 'lunch']).command).toEqual({ name: 'pause', reason: 'going to lunch' });
    expect(parseCli(['resume']).command).toEqual({ name: 'resume' });
    expect(parseCli(['policy', 'reload']).command).toEqual({ name: 'policy-reload' });
  });

  it('answers help for no command, help, or --help', () => {
    for (const argv of [[], ['help'], ['status', '--help'], ['-h']]) expect(parseCli(argv).command).toEqual({ name: 'help' });
  });

  it('refuses what it cannot run with a UsageError that says why', () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['request', 'mock', 'GET'], /usage: conductor-fx request/],
      [['request', 'mock', 'FETCH', '/x'], /METHOD must be one of/],
      [['request', 'mock', 'GET', '/x', '--header', 'novalue'], /--header takes "name: value"/],
      [['request', 'mock', 'GET', '/x', '--max-wait-ms=-1'], /--max-wait-ms must be an integer/],
      [['journal', '--limit', 'lots'], /--limit must be an integer/],
      [['status', '--bogus'], /bogus/],
      [['pause'], /pause <reason>/],
      [['resume', 'now'], /usage: conductor-fx resume/],
      [['policy'], /usage: conductor-fx policy reload/],
      [['policy', 'load'], /usage: conductor-fx policy reload/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseCli(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseCli(argv), argv.join(' ')).toThrow(message);
    }
  });
});
