/**
 * Node flags the worker is started with (the image's ENTRYPOINT; `test/image.test.ts` checks
 * they match). A 1 MB young generation instead of V8's 16 MB: the export's Buffers die young,
 * and a smaller young generation collects them (and frees their off-heap memory) sooner.
 * Measured (docs/PERFORMANCE.md): 2 MB took 30 MiB off the idle worker and 25 MiB off what a
 * 2M-row export adds; 1 MB takes another 15-20 MiB off a 10M-row export, with no measurable
 * change in the restore's time.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
