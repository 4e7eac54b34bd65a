import { Client, Connection, isGrpcServiceError, WorkflowNotFoundError, type ScheduleDescription, type ScheduleExecutionResult } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { SeedvaultConfig } from '../config/schema.js';
import {
  green,
  lastRunVerdict,
  red,
  scheduleVerdict,
  searchAttributeVerdict,
  skipped,
  workerVerdict,
  type DoctorCheck,
  type PollerFacts,
  type ScheduledRun,
  type ScheduleFacts,
} from '../domain/doctor.js';
import { errorMessage } from '../errors.js';
import { missingSearchAttributes } from '../temporal/ensure-search-attributes.js';
import { describeSchedules, desiredSchedules } from '../temporal/schedules.js';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { bounded, judged, STEP_SECONDS } from './bounded.js';

const { TaskQueueType } = proto.temporal.api.enums.v1;
const GRPC_NOT_FOUND = 5;

type Timestamp = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;
const tsToDate = (ts: Timestamp): Date | null => (ts?.seconds == null ? null : new Date(Number(ts.seconds.toString()) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)));

const firstLine = (message: string) => message.split('\n')[0]!;

/** Every Temporal call of doctor: a server deadline, and a bound on our side too. */
function bound(connection: Connection) {
  return <T>(fn: () => Promise<T>) => bounded('Temporal', () => connection.withDeadline(Date.now() + (STEP_SECONDS - 1) * 1000, fn));
}

async function pollers(client: Client, namespace: string, taskQueue: string): Promise<PollerFacts[]> {
  const kinds = [['workflow', TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW], ['activity', TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]] as const;
  const answers = await Promise.all(
    kinds.map(async ([kind, taskQueueType]) => {
      const r = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType });
      return r.pollers.map((p) => ({ identity: p.identity ?? '?', kind, lastPoll: tsToDate(p.lastAccessTime) }));
    }),
  );
  return answers.flat();
}

/** The workflows a schedule started, newest first, back to its newest success (at most its recent actions). */
async function scheduledRuns(client: Client, actions: ScheduleExecutionResult[]): Promise<ScheduledRun[]> {
  const runs: ScheduledRun[] = [];
  for (const { action } of [...actions].reverse()) {
    if (action.type !== 'startWorkflow') continue;
    try {
      // No run id: the latest run of the id, after any continue-as-new.
      const d = await client.workflow.getHandle(action.workflow.workflowId).describe();
      runs.push({ workflowId: d.workflowId, startedAt: d.startTime, status: d.status.name, closedAt: d.closeTime ?? null });
      if (d.status.name === 'COMPLETED') break;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err; // past the namespace's retention
    }
  }
  return runs;
}

/** A schedule's line and its last run's line, from its description (null: missing). */
async function scheduleChecks(client: Client, call: ReturnType<typeof bound>, config: SeedvaultConfig, id: string, d: ScheduleDescription | null): Promise<DoctorCheck[]> {
  const facts: ScheduleFacts = d
    ? { paused: d.state.paused, note: d.state.note, nextRun: d.info.nextActionTimes[0] ?? null, taskQueue: d.action.type === 'startWorkflow' ? d.action.taskQueue : null }
    : { paused: null, nextRun: null, taskQueue: null };
  const schedule = scheduleVerdict(id, facts, config.temporal.task_queue);
  if (!d) return [schedule, skipped(`last run ${id}`, 'the schedule is missing')];
  return [schedule, await judged('Temporal', async () => lastRunVerdict(id, await call(() => scheduledRuns(client, d.info.recentActions))), (message) => red(`last run ${id}`, `Temporal did not answer: ${firstLine(message)}`, 'check the Temporal server and its logs', 'service'))];
}

/**
 * Temporal reachable with the namespace; search attributes; a worker polling the task
 * queue; every schedule `schedule apply` makes, with its next run and its last run.
 */
export async function temporalChecks(config: SeedvaultConfig, now: Date): Promise<DoctorCheck[]> {
  const { address, namespace, task_queue: taskQueue } = config.temporal;
  const ids = desiredSchedules(config).map((s) => s.scheduleId);
  const rest = (because: string) => [
    skipped('search attributes', because),
    skipped('worker', because),
    ...ids.flatMap((id) => [skipped(`schedule ${id}`, because), skipped(`last run ${id}`, because)]),
  ];
  const unreachable = (message: string) => red('temporal', `cannot reach Temporal at ${address}: ${firstLine(message)}`, 'start Temporal, or fix temporal.address (TEMPORAL_ADDRESS)', 'service');
  let connection: Connection;
  try {
    connection = await bounded('Temporal', () => Connection.connect({ address, connectTimeout: `${STEP_SECONDS - 1}s` }));
  } catch (err) {
    return [unreachable(errorMessage(err)), ...rest('Temporal is unreachable')];
  }
  try {
    const client = new Client({ connection, namespace });
    const call = bound(connection);
    const reach = await judged(
      'Temporal',
      async () => {
        await call(() => client.workflowService.describeNamespace({ namespace }));
        return green('temporal', `${address}, namespace ${namespace}`);
      },
      (message, err) =>
        isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND
          ? red('temporal', `namespace ${namespace} does not exist at ${address}`, `create it: temporal operator namespace create --namespace ${namespace} (or fix temporal.namespace)`, 'config')
          : unreachable(message),
    );
    if (reach.status === 'red') return [reach, ...rest('Temporal does not answer')];
    const failed = (check: string) => (message: string) => red(check, `Temporal did not answer: ${firstLine(message)}`, 'check the Temporal server and its logs', 'service');
    const [attributes, worker, schedules] = await Promise.all([
      judged('Temporal', async () => {
        const missing = new Set(await call(() => missingSearchAttributes(connection, namespace)));
        return searchAttributeVerdict(namespace, ALL_SEARCH_ATTRIBUTES.filter((a) => missing.has(a.name)), ALL_SEARCH_ATTRIBUTES.length);
      }, failed('search attributes')),
      judged('Temporal', async () => workerVerdict(taskQueue, await call(() => pollers(client, namespace, taskQueue)), now), failed('worker')),
      call(() => describeSchedules(client, config)).then(
        (described) => Promise.all(described.map(({ scheduleId, description }) => scheduleChecks(client, call, config, scheduleId, description))),
        (err: unknown) => ids.map((id) => [failed(`schedule ${id}`)(errorMessage(err)), skipped(`last run ${id}`, 'the schedule did not answer')]),
      ),
    ]);
    return [reach, attributes, worker, ...schedules.flat()];
  } finally {
    await connection.close();
  }
}
