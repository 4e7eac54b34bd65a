import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { log } from '../../logging.js';

export const SNAPSHOT_PROGRESS_SIGNAL = 'snapshotProgress';

export interface TableProgress {
  table: string;
  rows: number;
  done: boolean;
}

const SIGNAL_EVERY_MS = 2000;

/**
 * Rows exported so far, per table: heartbeated on every update (the SDK throttles) and
 * signalled to the workflow at most every 2 s, so its `progress` query and the Web UI's
 * current details show live figures without flooding the history.
 */
export class ProgressReporter {
  private readonly tables = new Map<string, TableProgress>();
  private lastSignal = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly temporal: Client,
    private readonly execution: { workflowId: string; runId: string },
    tables: string[],
    /** The workflow's signal that takes TableProgress[]; restores have their own. */
    private readonly signalName = SNAPSHOT_PROGRESS_SIGNAL,
  ) {
    for (const table of tables) this.tables.set(table, { table, rows: 0, done: false });
  }

  update(table: string, rows: number): void {
    this.tables.set(table, { table, rows, done: false });
    Context.current().heartbeat(this.current());
    if (Date.now() - this.lastSignal >= SIGNAL_EVERY_MS) this.signal();
  }

  finish(table: string, rows: number): void {
    this.tables.set(table, { table, rows, done: true });
    Context.current().heartbeat(this.current());
    this.signal();
  }

  /** Waits for the last signal, so the final figures reach the workflow. */
  async flush(): Promise<void> {
    await this.pending;
  }

  /** Every table's figures now: what a heartbeat carries. */
  current(): TableProgress[] {
    return [...this.tables.values()];
  }

  private signal(): void {
    this.lastSignal = Date.now();
    const progress = this.current();
    this.pending = this.pending.then(() =>
      this.temporal.workflow
        .getHandle(this.execution.workflowId, this.execution.runId)
        .signal(this.signalName, progress)
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'progress signal failed')),
    );
  }
}
