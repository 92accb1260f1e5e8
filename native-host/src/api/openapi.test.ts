import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeExtensionLink, MemoryJournal, MemoryLogger, fakeHostStatus } from '../../../test/api/fakes.js';
import { useTempDb } from '../../../test/host/temp-store.js';
import { JOB_DEFAULTS_CONFIG } from '../config.js';
import { JobsService } from '../jobs/jobs-service.js';
import { readPolicyFile } from '../policy-file.js';
import { SafetyLimitsSchema } from '../../../shared/safety-limits.js';
import { API_OPERATIONS, openApiDocument } from './openapi.js';
import { createRoutes } from './routes.js';

const COMMITTED = new URL('../../../docs/openapi.json', import.meta.url);
const db = useTempDb();
let service: JobsService | null = null;
afterEach(() => service?.stop());

/** Every route the host serves, jobs included. */
function servedRoutes() {
  const link = new FakeExtensionLink();
  const log = new MemoryLogger();
  service = new JobsService({
    sqlite: db().sqlite,
    link,
    log,
    now: Date.now,
    timers: { setTimeout: () => null, clearTimeout: () => undefined },
    config: JOB_DEFAULTS_CONFIG,
    safety: () => SafetyLimitsSchema.parse({}),
  });
  return createRoutes({ dataDir: '/tmp/x', port: 0, extension: link, journal: new MemoryJournal(), hostStatus: () => fakeHostStatus('/tmp/x'), reloadPolicy: () => readPolicyFile('/nonexistent'), log, now: Date.now, jobs: service });
}

/** A concrete path an OpenAPI path template stands for. */
const sample = (template: string) => template.replace(/\{[^}]+\}/g, 'x1');

describe('the OpenAPI document', () => {
  it('is committed as docs/openapi.json exactly as generated (run `npm run openapi` after changing a schema or route)', () => {
    expect(JSON.parse(readFileSync(COMMITTED, 'utf8'))).toEqual(openApiDocument());
  });

  it('is OpenAPI 3.1 with a JSON schema for each JSON answer', () => {
    const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { type?: string } }> }> }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v1/jobs']!['post']!.responses['202']!.content['application/json']!.schema).toMatchObject({ type: 'object' });
  });

  it('describes every route the host serves, and nothing it does not', () => {
    const routes = servedRoutes();
    for (const route of routes) {
      const described = API_OPERATIONS.filter((op) => op.method.toUpperCase() === route.method && route.pattern.test(sample(op.path)));
      expect(described.length, `route ${route.name} (${route.method} ${route.pattern}) is not in the OpenAPI document`).toBeGreaterThan(0);
    }
    for (const op of API_OPERATIONS) {
      expect(routes.some((r) => r.method === op.method.toUpperCase() && r.pattern.test(sample(op.path))), `${op.method} ${op.path} is served by no route`).toBe(true);
    }
  });
});
