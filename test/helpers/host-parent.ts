// A stand-in for Firefox as the host's parent process, run as its own process so a test can
// SIGKILL it: `node --import tsx host-parent.ts <data dir> [shared-stdin]` spawns the built host
// with piped stdio and prints "<host pid> <holder pid|0>" once the host is ready. With
// `shared-stdin`, a second child (the holder) also holds the write end of the host's stdin, as
// another of Firefox's processes might, so the host sees no EOF when this process dies.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ADDON_ID, HOST_SCRIPT } from './host-process.js';

const [dataDir = '', mode = ''] = process.argv.slice(2);
const host = spawn(process.execPath, [HOST_SCRIPT, join(dataDir, 'conductor_fx.json'), ADDON_ID], {
  env: { ...process.env, CONDUCTOR_FX_DATA_DIR: dataDir, CONDUCTOR_FX_API_PORT: '0' },
  stdio: ['pipe', 'pipe', 'pipe'],
});
const holder = mode === 'shared-stdin' ? spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: ['ignore', 'ignore', 'ignore', host.stdin] }) : null;
host.stdout.resume();
let stderr: string | null = '';
host.stderr.on('data', (chunk: Buffer) => {
  if (stderr === null) return;
  stderr += chunk.toString('utf8');
  if (!stderr.includes('host ready')) return;
  process.stdout.write(`${host.pid} ${holder?.pid ?? 0}\n`);
  stderr = null;
});
// Lives until killed.
setInterval(() => undefined, 60_000);
