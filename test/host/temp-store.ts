import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openArtifactDb, type ArtifactDb } from '../../native-host/src/store/db.js';

/** Registers cleanup and returns a maker of fresh temp dirs, each removed after the test that made it. */
export function useTempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `cfx-${prefix}-`));
    dirs.push(dir);
    return dir;
  };
}

/** A real, migrated artifact DB in a fresh temp data dir for each test; closed and removed after it. */
export function useTempDb(): () => ArtifactDb {
  const tempDir = useTempDirs('db');
  let db: ArtifactDb | null = null;
  beforeEach(() => {
    db = openArtifactDb(tempDir());
  });
  afterEach(() => {
    db?.close();
    db = null;
  });
  return () => {
    if (db === null) throw new Error('useTempDb: no DB outside a test');
    return db;
  };
}
