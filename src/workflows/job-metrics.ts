import {
  isCancellation,
  proxySinks,
  TemporalFailure,
  type Next,
  type Sinks,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';

/** Outcome of a run, as the `outcome` label of the job metrics. */
export type RunOutcome = 'success' | 'failure' | 'cancelled';

/**
 * The worker side records the metrics (src/worker.ts): a sink is not called while a
 * history is replayed, so every run counts once, whichever worker finishes it.
 */
export interface JobMetricsSinks extends Sinks {
  jobMetrics: { finished(outcome: RunOutcome): void };
}

const { jobMetrics } = proxySinks<JobMetricsSinks>();

/** Reports how every workflow run ends; a continue-as-new is not an end. */
class JobMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      const result = await next(input);
      jobMetrics.finished('success');
      return result;
    } catch (err) {
      // Only a TemporalFailure ends the run: a continue-as-new is not one, and any other
      // error fails the workflow task, which is retried.
      if (err instanceof TemporalFailure) jobMetrics.finished(isCancellation(err) ? 'cancelled' : 'failure');
      throw err;
    }
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new JobMetricsInterceptor()] });
