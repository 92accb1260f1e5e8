import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILE_NAME } from '../../native-host/src/log.js';

/** The host's log file in `dataDir`, or '' when there is none (yet). */
export function hostLog(dataDir: string): string {
  try {
    return readFileSync(join(dataDir, LOG_FILE_NAME), 'utf8');
  } catch {
    return '';
  }
}
