import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type InjectedSinks, type LogLevel } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import type { SeedvaultConfig } from './config/schema.js';
import { createPool } from './db/pool.js';
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
    logger: new DefaultLogger('INFO', (entry) => log[levels[entry.level]]({ ...entry.meta, sdk: true }, entry.message)),
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
  worker: Worker;
  /** Resolves when the worker has stopped (after stop() or a SIGINT/SIGTERM). */
  done: Promise<void>;
  /** Graceful shutdown; resolves once the worker has stopped. */
  stop(): Promise<void>;
}

/**
 * Starts a worker for every workflow and activity on the configured task queue.
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
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.task_queue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    activities: createActivities({ config, pool, storage: createStorage(config.storage), mirror: createMirrorStorage(config.storage), temporal, metrics }),
    sinks: jobMetricsSinks(metrics),
    shutdownGraceTime: '20s',
    maxConcurrentActivityTaskExecutions: config.temporal.max_concurrent_activities,
  });
  log.info({ taskQueue: config.temporal.task_queue, namespace: config.temporal.namespace }, 'worker started');
  const done = worker.run().finally(async () => {
    await pool.end();
    await clientConnection.close();
    await connection.close();
    log.info('worker stopped');
  });
  return {
    worker,
    done,
    stop: async () => {
      worker.shutdown();
      await done;
    },
  };
}
