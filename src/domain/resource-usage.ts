/** Pure parts of the worker's resource readings written with each health run (issue 16). */

/**
 * A cgroup memory limit file's content in bytes, or null when it sets none: v2's
 * `memory.max` says "max", v1's `memory.limit_in_bytes` holds a huge number, and a limit at
 * or above the machine's memory limits nothing.
 */
export function cgroupMemoryLimit(text: string, totalMemory: number): number | null {
  const value = Number(text.trim());
  return Number.isFinite(value) && value > 0 && value < totalMemory ? value : null;
}

/** `part` as a percentage of `whole`, clamped to 0-100 (the pipeline_health columns' range), two decimals. */
export function percentOf(part: number, whole: number): number {
  if (!(whole > 0)) return 0;
  return Math.round(Math.min(100, Math.max(0, (part / whole) * 100)) * 100) / 100;
}
