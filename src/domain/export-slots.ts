/**
 * Exports (exportTables, exportTablePart) are scheduled on a task queue of their own, next to
 * the configured one, which every worker polls with a few slots only. A worker holds at most
 * that many exports (each a thread with its COPY, Arrow and Parquet buffers), so its memory does
 * not grow with backup.parallelism or a table's parts; the exports beyond wait in Temporal for
 * a free slot on any worker (another host, say) instead of in one worker's memory.
 */
export function exportTaskQueue(taskQueue: string): string {
  return `${taskQueue}-export`;
}

/**
 * temporal.max_concurrent_exports, or half the host's cores (at least 1): one export keeps about
 * two busy (its thread decoding and encoding, PostgreSQL's COPY and the upload), and on 2 cores a
 * second part at once bought no time and cost a second export's memory (docs/PERFORMANCE.md).
 */
export function exportSlots(configured: number | null, cores: number): number {
  return configured ?? Math.max(1, Math.floor(cores / 2));
}
