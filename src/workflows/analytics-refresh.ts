import { proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ViewRefresh } from '../analytics/refresh.js';
import { SeedvaultJob } from './search-attributes.js';

const { refreshAnalytics } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10s', maximumInterval: '5 minutes', maximumAttempts: 3 },
});

export interface AnalyticsRefreshInput {
  trigger?: 'schedule' | 'manual';
}

export interface AnalyticsRefreshResult {
  views: ViewRefresh[];
}

/** Hourly (schedule `analytics-refresh`): refresh seed 001's materialized views without blocking their readers. */
export async function analyticsRefresh(_input: AnalyticsRefreshInput = {}): Promise<AnalyticsRefreshResult> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'analytics-refresh' }]);
  const views = await refreshAnalytics();
  setCurrentDetails(views.map((v) => `- ${v.view}: ${v.rows} row(s), ${v.mode} refresh in ${(v.ms / 1000).toFixed(1)} s`).join('\n'));
  return { views };
}
