/**
 * Node flags the worker is started with (the image's ENTRYPOINT; `test/image.test.ts` checks
 * they match). A 1 MB young generation instead of V8's 16 MB: the export's Buffers die young,
 * and a smaller young generation collects them (and frees their off-heap memory) sooner.
 * Measured on 10M-row exports (docs/PERFORMANCE.md): 2 MB took 30 MiB off the idle worker and
 * 25 MiB off what the export adds; 1 MB takes another 15-20 MiB off the export, with no
 * measurable change in the restore's time.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
