import { readdirSync, readFileSync } from 'node:fs';

/** The built host's script, as it appears in the host's command line (the launcher execs node on it). */
const HOST_SCRIPT = 'dist/native-host/host.mjs';

/**
 * Pids of the live native hosts serving `dataDir` (Linux /proc). A host is told apart from other
 * rigs' hosts by the CONDUCTOR_FX_DATA_DIR its launcher exported; a killed host that Firefox has
 * not reaped yet has an empty command line, so it is no longer listed.
 */
export function hostPids(dataDir: string): number[] {
  const wanted = `CONDUCTOR_FX_DATA_DIR=${dataDir}`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      const cmdline = readProc(pid, 'cmdline');
      return cmdline.includes(HOST_SCRIPT) && readProc(pid, 'environ').split('\0').includes(wanted);
    })
    .map(Number);
}

function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return ''; // gone meanwhile, or not ours to read
  }
}
