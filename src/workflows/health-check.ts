import { log, patched, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { healthAlert, healthTransition } from '../domain/alerts.js';
import type { HealthReport } from '../quality/health.js';
import { currentRun, raiseAlert } from './alerting.js';
import { HealthStatus, SeedvaultJob } from './search-attributes.js';

const { checkPipelineHealth } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 3 },
  summary: 'judge symbols, snapshots and file backups; write pipeline_health',
});

const { detectSymbolAnomalies } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 3 },
  summary: 'log gaps, outliers and staleness in data_anomalies',
});

const { recordDataGaps } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 3 },
  summary: 'record the gaps of the lookback window in data_gaps',
});

export interface HealthCheckInput {
  trigger?: 'schedule' | 'manual';
  verifySnapshot?: boolean;
  /** Log anomalies first, so the report counts them (default true). */
  detectAnomalies?: boolean;
  /** Record gaps in data_gaps first, so the report counts them (default true). */
  recordGaps?: boolean;
}

/**
 * The 6-hourly health check: one pipeline_health row per component, the overall level in
 * the HealthStatus search attribute (`HealthStatus = "red"` finds the bad runs) and a
 * warning log line naming every red or yellow component. A red report does not fail the
 * run: the run's job is to measure. Turning red (and leaving red) raises an alert.
 */
export async function healthCheck(input: HealthCheckInput = {}): Promise<HealthReport> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'health' }]);
  if (input.detectAnomalies ?? true) await detectSymbolAnomalies({});
  if ((input.recordGaps ?? true) && patched('record-data-gaps')) await recordDataGaps();
  const report = await checkPipelineHealth({ verifySnapshot: input.verifySnapshot });
  upsertSearchAttributes([{ key: HealthStatus, value: report.status }]);
  const transition = healthTransition(report.previousStatus, report.status);
  if (transition) await raiseAlert(healthAlert(transition, currentRun(), report, new Date().toISOString()));
  const bad = report.components.filter((c) => c.status !== 'green');
  if (bad.length > 0) {
    log.warn(`health ${report.status}: ${bad.map((c) => `${c.component} ${c.status} (${c.details})`).join('; ')}`, {
      alert: report.status === 'red',
      status: report.status,
    });
  }
  setCurrentDetails(
    `**${report.status}**\n\n${report.components.map((c) => `- ${c.status} ${c.component}: ${c.details}`).join('\n')}`,
  );
  return report;
}
