import { defineQuery, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { FileBackupStatus, FileBackupType, SeedvaultJob } from './search-attributes.js';

/** What the CLI shows while a file backup, restore or cleanup runs (the `progress` query). */
export interface FileRunProgress {
  phase: string;
  /** One line per finished step, e.g. `portfolio_20260101_020000: 3 files, 1.2 KiB`. */
  done: string[];
}

export const fileRunProgressQuery = defineQuery<FileRunProgress>('progress');

/**
 * Keeps a file run's progress in one place: the query answer, the Web UI's current
 * details and the FileBackupStatus search attribute move together.
 */
export function trackFileRun(job: string, types: string[]): { state: FileRunProgress; phase(text: string, status?: string): void; finished(line: string): void } {
  const state: FileRunProgress = { phase: 'starting', done: [] };
  const render = () => setCurrentDetails([`**${state.phase}**`, ...state.done].join('\n\n'));
  setHandler(fileRunProgressQuery, () => state);
  upsertSearchAttributes([
    { key: SeedvaultJob, value: job },
    { key: FileBackupType, value: types.length ? types.join(',') : 'all' },
  ]);
  return {
    state,
    phase(text, status = 'running') {
      state.phase = text;
      upsertSearchAttributes([{ key: FileBackupStatus, value: status }]);
      render();
    },
    finished(line) {
      state.done.push(line);
      render();
    },
  };
}
