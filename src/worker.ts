import { existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type InjectedSinks, type LogLevel } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import type { SeedvaultConfig } from './config/schema.js';
import { createPool } from './db/pool.js';
import { exportSlots, exportTaskQueue } from './domain/export-slots.js';
import { errorMessage, ServiceError } from './errors.js';
import { log } from './logging.js';
import { HISTOGRAM_BUCKETS, jobOfWorkflow, SeedvaultMetrics } from './metrics.js';
import { createMirrorStorage, createStorage } from './storage/index.js';
import { removeAbandonedTempFolders } from './temp-folders.js';
import { WORKFLOW_BUNDLE_PATH } from './temporal/bundle-workflows.js';
import { ensureSearchAttributes } from './temporal/ensure-search-attributes.js';
import type { JobMetricsSinks } from './workflows/job-metrics.js';

/** The metrics address the process's runtime was installed with ('' none); null before it is. */
let runtimeMetricsAddress: string | null = null;

/** What the SDK warns about that is so by design here: the exports' worker has no workflows. */
const EXPECTED_SDK_WARNINGS = new Set(['No workflows registered, not polling for workflow tasks']);

/**
 * The SDK runtime, once per process: the SDK's own logs (worker state, activity failures)
 * go into our structured log, and with `metrics.bind_address` its Prometheus exporter serves
 * the SDK's metrics and seedvault's on `/metrics`.
 */
function installRuntime(metricsAddress: string): void {
  if (runtimeMetricsAddress !== null) {
    if (runtimeMetricsAddress !== metricsAddress) log.warn({ metricsAddress, installed: runtimeMetricsAddress }, 'the SDK runtime is already installed: metrics keep its address');
    return;
  }
  runtimeMetricsAddress = metricsAddress;
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error',
  };
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      const level = entry.level === 'WARN' && EXPECTED_SDK_WARNINGS.has(entry.message) ? 'debug' : levels[entry.level];
      log[level]({ ...entry.meta, sdk: true }, entry.message);
    }),
    ...(metricsAddress && {
      telemetryOptions: {
        metrics: {
          prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true, histogramBucketOverrides: HISTOGRAM_BUCKETS },
        },
      },
    }),
  });
  if (metricsAddress) log.info({ metricsAddress }, `metrics on http://${metricsAddress}/metrics`);
}

/** Records the end of every job run the workflows report (src/workflows/job-metrics.ts). */
function jobMetricsSinks(metrics: SeedvaultMetrics): InjectedSinks<JobMetricsSinks> {
  return {
    jobMetrics: {
      finished: {
        fn: (info, outcome) => {
          const job = jobOfWorkflow(info.workflowType);
          // startTime is the chain's: a backfill continued as new counts from its first run.
          if (job) metrics.jobFinished(job, outcome, (Date.now() - info.startTime.getTime()) / 1000, new Date());
        },
        callDuringReplay: false,
      },
    },
  };
}

/** A worker killed mid-restore leaves its download folder behind; the next start removes those of gone processes. */
async function removeLeftoverTempFolders(): Promise<void> {
  try {
    const { folders, bytes } = await removeAbandonedTempFolders();
    if (folders > 0) log.info({ folders, bytes, dir: tmpdir() }, `removed ${folders} leftover temp folder(s) of processes that are gone, ${bytes} bytes`);
  } catch (err) {
    log.warn({ err: errorMessage(err), dir: tmpdir() }, 'could not remove leftover temp folders');
  }
}

export interface RunningWorker {
  /** Resolves when the worker has stopped (after stop() or a SIGINT/SIGTERM). */
  done: Promise<void>;
  /** Graceful shutdown; resolves once the worker has stopped. */
  stop(): Promise<void>;
}

/**
 * Starts a worker for every workflow and activity on the configured task queue, and one for the
 * exports on theirs (src/domain/export-slots.ts) with temporal.max_concurrent_exports slots.
 * SIGINT/SIGTERM start a graceful shutdown: polling stops, in-flight activities get
 * `shutdownGraceTime` to finish, then they are cancelled and retried elsewhere.
 */
export async function startWorker(config: SeedvaultConfig): Promise<RunningWorker> {
  if (!existsSync(WORKFLOW_BUNDLE_PATH)) {
    throw new ServiceError(`workflow bundle ${WORKFLOW_BUNDLE_PATH} is missing; run: npm run build`);
  }
  installRuntime(config.metrics.bind_address);
  await removeLeftoverTempFolders();
  const metrics = new SeedvaultMetrics(Runtime.instance().metricMeter);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: config.temporal.address });
  } catch (err) {
    throw new ServiceError(`worker cannot reach Temporal at ${config.temporal.address}: ${(err as Error).message.split('\n')[0]}`);
  }
  const pool = createPool(config.postgres.url);
  // Activities signal progress to their workflows through a plain client.
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const registered = await ensureSearchAttributes(clientConnection, config.temporal.namespace);
  if (registered.length > 0) log.info({ registered }, 'registered search attributes');
  const { namespace, task_queue: taskQueue } = config.temporal;
  const activities = createActivities({ config, pool, storage: createStorage(config.storage), mirror: createMirrorStorage(config.storage), temporal, metrics });
  const main = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    // Every activity, exports included: runs scheduled before exports had a queue of their own still run.
    activities,
    sinks: jobMetricsSinks(metrics),
    shutdownGraceTime: '20s',
    maxConcurrentActivityTaskExecutions: config.temporal.max_concurrent_activities,
  });
  const exportSlotCount = exportSlots(config.temporal.max_concurrent_exports, availableParallelism());
  const exports = await Worker.create({
    connection,
    namespace,
    taskQueue: exportTaskQueue(taskQueue),
    activities: { exportTables: activities.exportTables, exportTablePart: activities.exportTablePart },
    shutdownGraceTime: '20s',
    maxConcurrentActivityTaskExecutions: exportSlotCount,
  });
  const workers = [main, exports];
  // One of them stopping (a fatal error, say) stops the other: no half worker keeps polling.
  const stopAll = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
  log.info({ taskQueue, exportTaskQueue: exportTaskQueue(taskQueue), exportSlots: exportSlotCount, namespace }, 'worker started');
  const done = Promise.allSettled(workers.map((w) => w.run().finally(stopAll))).then(async (results) => {
    await pool.end();
    await clientConnection.close();
    await connection.close();
    log.info('worker stopped');
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return {
    done,
    stop: async () => {
      stopAll();
      await done;
    },
  };
}
