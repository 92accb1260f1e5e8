import type { JournalEntry } from '../../../shared/journal.js';
import type { HostMethod, HostPayload, HostResult } from '../../../shared/messages.js';

/** The host calls the journal needs. */
export interface JournalHost {
  readonly connected: boolean;
  request<M extends HostMethod>(type: M, payload: HostPayload<M>): Promise<HostResult<M>>;
}

/** The most rows one journal.record carries (the host's schema limit). */
const BATCH = 500;

/**
 * Writes request-journal rows to the host. A write-ahead row (`admitted`) must be committed
 * before the request is dispatched, so its failure reaches the caller; every other row is
 * best effort and waits in a bounded queue while the host is away, flushed on reconnect.
 */
export class JournalWriter {
  private readonly queue: JournalEntry[] = [];
  private flushing: Promise<void> | null = null;
  /** Rows dropped because the queue was full (oldest first). */
  lost = 0;

  constructor(
    private readonly host: JournalHost,
    private readonly maxQueued = 1_000,
  ) {}

  /** Rows waiting for the host. */
  get queued(): number {
    return this.queue.length;
  }

  /** Records a row and resolves only once the host committed it; rejects otherwise (nothing queued). */
  async writeAhead(entry: JournalEntry): Promise<void> {
    await this.host.request('journal.record', { entries: [entry] });
  }

  /** Records a row now if the host is there, else queues it; never rejects. */
  async record(entry: JournalEntry): Promise<void> {
    if (this.host.connected && this.queue.length === 0) {
      try {
        await this.host.request('journal.record', { entries: [entry] });
        return;
      } catch {
        // fall through: keep it for the next flush
      }
    }
    this.enqueue(entry);
    if (this.host.connected) await this.flush();
  }

  /** Sends every queued row, in order (call on reconnect). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && this.host.connected) {
      const batch = this.queue.slice(0, BATCH);
      try {
        await this.host.request('journal.record', { entries: batch });
      } catch {
        return; // the host went away again; the rows stay queued
      }
      // By identity, not by count: rows enqueued while the batch was in flight may have superseded or evicted some of it.
      const sent = new Set(batch);
      for (let i = this.queue.length - 1; i >= 0; i--) if (sent.has(this.queue[i] as JournalEntry)) this.queue.splice(i, 1);
    }
  }

  private enqueue(entry: JournalEntry): void {
    // A later row of the same request supersedes an earlier one (the host upserts by id).
    const i = this.queue.findIndex((e) => e.requestId === entry.requestId);
    if (i >= 0) this.queue.splice(i, 1);
    this.queue.push(entry);
    while (this.queue.length > this.maxQueued) {
      this.queue.shift();
      this.lost += 1;
    }
  }
}
