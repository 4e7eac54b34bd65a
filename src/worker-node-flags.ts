/**
 * How the worker's process is started (the image's ENTRYPOINT and ENV; `test/image.test.ts`
 * checks they match).
 *
 * Node flags: a 1 MB young generation instead of V8's 16 MB: the export's Buffers die young,
 * and a smaller young generation collects them (and frees their off-heap memory) sooner.
 * Measured (docs/PERFORMANCE.md): 2 MB took 30 MiB off the idle worker and 25 MiB off what a
 * 2M-row export adds; 1 MB takes another 15-20 MiB off a 10M-row export, with no measurable
 * change in the restore's time.
 *
 * --expose-gc: a thread task ends with a full collection of the main heap (thread-task.ts), so
 * what one export part left there is gone before the next part starts.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--expose-gc'];

/**
 * Environment for glibc's malloc, which holds the ArrayBuffers of the export and restore threads.
 *
 * MALLOC_ARENA_MAX: one arena. By default glibc gives threads arenas of their own (up to 8 per
 * core), whose freed memory the next thread's arena does not reuse: three 10M-row snapshots in
 * one worker raised its peak RSS 312 -> 328 -> 339 MiB; with two arenas 268-275 -> 281-290 ->
 * 283-304 MiB, at the same speed. With two, the export thread's arena still held ~30 MiB at the
 * export's peak and ~26 MiB after it; with one, the main thread and the next thread reuse it: a
 * 12M-row export added 100-109 MiB against 112-117 (docs/PERFORMANCE.md).
 *
 * MALLOC_MMAP_THRESHOLD_: a fixed 128 KiB. glibc otherwise raises the threshold to the largest
 * block freed (up to 32 MiB), after which the MB-sized chunk and row-group buffers come from the
 * arenas and stay there between exports; mapped, each goes back to the system when freed. A
 * 100M-row snapshot (six parts, one after another): peak 292-294 MiB against 312-328, idle 167
 * against 176-186, at the same speed (docs/PERFORMANCE.md).
 */
export const WORKER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' };
