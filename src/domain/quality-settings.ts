/**
 * Health and anomaly thresholds and the quality schedules (seed 004), with their defaults.
 * The config's `quality` section overrides them; the pure rules take them as arguments.
 */
export interface QualitySettings {
  /** Health check schedule (seed 004: every 6 hours). */
  health_cron: string;
  /** Retention maintenance schedule (it expires overdue signals too). */
  maintenance_cron: string;
  /** Signal expiry schedule: overdue ready signals move to expired and each is alerted. */
  signal_expiry_cron: string;
  /** Health: a symbol with no bar for more than this much open-market time is red. */
  stale_market_hours: number;
  /** Health: the latest snapshot older than this is yellow / red. */
  snapshot_warn_days: number;
  snapshot_critical_days: number;
  /** Anomaly: more open-market time than this between two bars is a gap. */
  anomaly_gap_market_hours: number;
  /** Anomaly: a close that moves more than this percentage from the previous close is an outlier. */
  anomaly_outlier_pct: number;
  /** Anomaly: more open-market time than this since the last bar is staleness. */
  anomaly_stale_market_hours: number;
}

export const QUALITY_DEFAULTS: QualitySettings = {
  health_cron: '0 0,6,12,18 * * *',
  maintenance_cron: '30 3 * * *',
  signal_expiry_cron: '*/10 * * * *',
  stale_market_hours: 6,
  snapshot_warn_days: 8,
  snapshot_critical_days: 15,
  anomaly_gap_market_hours: 24,
  anomaly_outlier_pct: 20,
  anomaly_stale_market_hours: 24,
};
