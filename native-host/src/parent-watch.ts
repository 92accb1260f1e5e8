/** What watchParent needs from the process; injected so tests drive it without a real parent. */
export interface ParentWatchOptions {
  /** The parent's pid as of now (Node re-reads process.ppid on each access). */
  currentParent(): number;
  /** Whether a process with this pid still exists (signal 0). */
  exists(pid: number): boolean;
  intervalMs: number;
  timers: { setInterval(fn: () => void, ms: number): unknown; clearInterval(handle: unknown): void };
  /** Called once, the first time the parent is found gone. */
  onGone(): void;
}

/**
 * Backstop for losing the parent without losing a pipe (another process still holds the write
 * end of stdin, or the host has nothing to write): polls the parent and calls `onGone` once it
 * has died. On Linux and macOS a dead parent's children are re-parented, so a changed ppid is
 * the signal; where they are not (Windows), the original pid no longer existing is. Returns a
 * function that stops the watch.
 */
export function watchParent(opts: ParentWatchOptions): () => void {
  const parent = opts.currentParent();
  let handle: unknown = null;
  const stop = (): void => {
    if (handle === null) return;
    opts.timers.clearInterval(handle);
    handle = null;
  };
  handle = opts.timers.setInterval(() => {
    if (opts.currentParent() === parent && opts.exists(parent)) return;
    stop();
    opts.onGone();
  }, opts.intervalMs);
  return stop;
}

/** Whether `pid` names a live process (EPERM: it exists but is not ours to signal). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
