import { refreshAnalyticsViews, type AnalyticsView, type ViewRefresh } from '../analytics/refresh.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

/** Seed 001's analytics views (issue 16). */
export function analyticsActivities({ pool }: ActivityDeps) {
  return {
    /** Refreshes every analytics view, heartbeating the one in progress (a refresh of a large table takes long). */
    async refreshAnalytics(): Promise<ViewRefresh[]> {
      let current: AnalyticsView | null = null;
      return withHeartbeat(
        () => ({ view: current }),
        () => refreshAnalyticsViews(pool, (view) => (current = view)),
      );
    },
  };
}
