/**
 * Summary of recorded health (issue 16, seed 001's get_pipeline_health_summary): per
 * component over a window, the worst level, how long it was in each level, how often it
 * changed and where it ended. A measurement's level holds until the component's next
 * measurement; the last one holds until the end of the window, and a measurement taken
 * before the window gives the level at its start.
 */
import type { HealthLevel } from './file-backup-health.js';

export interface HealthMeasurement {
  component: string;
  status: HealthLevel;
  measuredAt: Date;
}

export interface ComponentHistory {
  component: string;
  /** Worst level measured inside the window. */
  worst: HealthLevel;
  /** Milliseconds spent in each level inside the window. */
  time_ms: Record<HealthLevel, number>;
  /** Measurements inside the window whose level differs from the one before. */
  changes: number;
  measurements: number;
  last_status: HealthLevel;
  last_measured_at: string;
}

const SEVERITY: Record<HealthLevel, number> = { green: 0, yellow: 1, red: 2 };

/**
 * `measurements`: every measurement in [from, to] plus, per component, the newest one before
 * `from` (that one only sets the level at `from`). Components measured only before the window
 * are left out. Sorted by component.
 */
export function summariseHealthHistory(measurements: HealthMeasurement[], from: Date, to: Date): ComponentHistory[] {
  const byComponent = new Map<string, HealthMeasurement[]>();
  for (const m of measurements) byComponent.set(m.component, [...(byComponent.get(m.component) ?? []), m]);
  const out: ComponentHistory[] = [];
  for (const [component, all] of byComponent) {
    const sorted = [...all].sort((a, b) => a.measuredAt.getTime() - b.measuredAt.getTime());
    const inside = sorted.filter((m) => m.measuredAt >= from && m.measuredAt <= to);
    if (inside.length === 0) continue;
    const before = sorted.filter((m) => m.measuredAt < from).at(-1);
    const timeline = before ? [before, ...inside] : inside;
    const time_ms: Record<HealthLevel, number> = { green: 0, yellow: 0, red: 0 };
    timeline.forEach((m, i) => {
      const start = Math.max(m.measuredAt.getTime(), from.getTime());
      const end = i + 1 < timeline.length ? timeline[i + 1]!.measuredAt.getTime() : to.getTime();
      time_ms[m.status] += Math.max(0, end - start);
    });
    const changes = timeline.filter((m, i) => i > 0 && m.measuredAt >= from && m.status !== timeline[i - 1]!.status).length;
    const last = inside.at(-1)!;
    out.push({
      component,
      worst: inside.reduce<HealthLevel>((w, m) => (SEVERITY[m.status] > SEVERITY[w] ? m.status : w), 'green'),
      time_ms,
      changes,
      measurements: inside.length,
      last_status: last.status,
      last_measured_at: last.measuredAt.toISOString(),
    });
  }
  return out.sort((a, b) => a.component.localeCompare(b.component));
}
