import { describe, expect, it } from 'vitest';
import { ApiRelayRequestSchema } from './api.js';
import { RelayRequestSchema } from './relay.js';

const base = { requestId: 'r1', platform: 'claude', clientId: 'agent', path: '/api/x' };

describe('a relayed request body must fit its method', () => {
  it('refuses a body on GET and HEAD, on the port and on the API, naming the field', () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const port = RelayRequestSchema.safeParse({ ...base, method, body: '{}' });
      expect(port.success).toBe(false);
      expect(port.error?.issues[0]?.path).toEqual(['body']);
      const api = ApiRelayRequestSchema.safeParse({ platform: 'claude', method, path: '/api/x', body: '' });
      expect(api.success).toBe(false);
      expect(api.error?.issues[0]?.message).toBe('GET and HEAD requests carry no body');
    }
  });

  it('takes GET without a body and POST with one', () => {
    expect(RelayRequestSchema.parse({ ...base, method: 'GET' }).body).toBeNull();
    expect(RelayRequestSchema.parse({ ...base, method: 'POST', body: '{}' }).body).toBe('{}');
    expect(ApiRelayRequestSchema.parse({ platform: 'claude', method: 'GET', path: '/api/x', body: null }).method).toBe('GET');
  });
});
