import type { JobEvent } from '../../../shared/jobs.js';

/** In-process fan-out of job events to the SSE streams watching each job. */
export class JobEvents {
  private readonly listeners = new Map<string, Set<(event: JobEvent) => void>>();

  /** Listens to one job's events until the returned function is called. */
  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    let set = this.listeners.get(jobId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(jobId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(jobId);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(jobId);
    };
  }

  /** Hands an event to every watcher of its job. */
  emit(jobId: string, event: JobEvent): void {
    for (const listener of [...(this.listeners.get(jobId) ?? [])]) listener(event);
  }
}
