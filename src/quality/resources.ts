import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { cgroupMemoryLimit, percentOf } from '../domain/resource-usage.js';

const CGROUP_MEMORY_LIMIT_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];

/** The memory this process may use: its cgroup's limit (v2, then v1) when one is set, else the machine's. */
export async function memoryLimitBytes(): Promise<number> {
  const total = totalmem();
  for (const file of CGROUP_MEMORY_LIMIT_FILES) {
    const limit = await readFile(file, 'utf8').then((text) => cgroupMemoryLimit(text, total), () => null);
    if (limit !== null) return limit;
  }
  return total;
}

export interface ProcessUsage {
  /** CPU time this process used during the measured span over its wall time, as a share of all available cores. */
  cpu_usage_pct: number;
  /** Resident set size against memoryLimitBytes(). */
  memory_usage_pct: number;
}

/** Starts measuring this process; `stop` gives its CPU share since then and its memory now. */
export function measureProcess(): { stop: () => Promise<ProcessUsage> } {
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  return {
    async stop() {
      const cpu = process.cpuUsage(cpuStart);
      const wallMicros = (performance.now() - wallStart) * 1000;
      return {
        cpu_usage_pct: percentOf(cpu.user + cpu.system, wallMicros * availableParallelism()),
        memory_usage_pct: percentOf(process.memoryUsage.rss(), await memoryLimitBytes()),
      };
    },
  };
}
