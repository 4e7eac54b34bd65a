/**
 * How the worker's process is started (the image's ENTRYPOINT and ENV; `test/image.test.ts`
 * checks they match).
 *
 * Node flags: a 1 MB young generation instead of V8's 16 MB: the export's Buffers die young,
 * and a smaller young generation collects them (and frees their off-heap memory) sooner.
 * Measured (docs/PERFORMANCE.md): 2 MB took 30 MiB off the idle worker and 25 MiB off what a
 * 2M-row export adds; 1 MB takes another 15-20 MiB off a 10M-row export, with no measurable
 * change in the restore's time.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Environment: at most two glibc malloc arenas. Each export and restore runs on a thread of its
 * own, and by default glibc gives threads arenas of their own (up to 8 per core), whose freed
 * memory the next thread's arena does not reuse: three 10M-row snapshots in one worker raised
 * its peak RSS 312 -> 328 -> 339 MiB; with two arenas 268-275 -> 281-290 -> 283-304 MiB, at
 * the same speed (docs/PERFORMANCE.md).
 */
export const WORKER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
