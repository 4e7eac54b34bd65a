import type { SeedvaultConfig } from '../config/schema.js';
import { workflowUiLink } from '../temporal/connection.js';

/** Machine output: one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

type Row = Record<string, string | number | boolean | null | undefined>;

/**
 * Human output: left-aligned columns with a header row. `paint` may decorate a padded cell
 * (colour), after the widths are measured.
 */
export function printTable<R extends Row>(rows: R[], paint?: (column: keyof R, text: string, row: R) => string): void {
  if (rows.length === 0) return;
  const headers = Object.keys(rows[0]!);
  const cells = rows.map((row) => headers.map((h) => formatCell(row[h])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[], row?: R) =>
    values.map((v, i) => (row && paint ? paint(headers[i]!, v.padEnd(widths[i]!), row) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write(`${line(headers.map((h) => h.toUpperCase()))}\n${cells.map((c, i) => line(c, rows[i])).join('\n')}\n`);
}

const ANSI: Record<string, string> = { green: '32', yellow: '33', red: '31', skipped: '2' };

/** Colours a status word (green / yellow / red / skipped) when stdout is a terminal and NO_COLOR is unset. */
export function paintStatus(status: string, text = status): string {
  const code = ANSI[status];
  if (!code || !process.stdout.isTTY || process.env.NO_COLOR) return text;
  return `\u001b[${code}m${text}\u001b[0m`;
}

function formatCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return value.toLocaleString('en-US');
  return String(value);
}

/** 14892544 -> "14.2 MiB" */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Tells the user how to follow a run just started: its id and Web UI link on stdout (or
 * as JSON) when not waiting, the link on stderr when waiting. Returns the link.
 */
export function announceRun(
  config: SeedvaultConfig,
  handle: { workflowId: string; firstExecutionRunId: string },
  opts: { wait?: boolean; json?: boolean },
): string | undefined {
  const link = workflowUiLink(config, handle.workflowId, handle.firstExecutionRunId);
  if (!opts.wait) {
    if (opts.json) printJson({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, webUi: link });
    else process.stdout.write(`started ${handle.workflowId}${link ? `\nWeb UI: ${link}` : ''}\n`);
  } else if (!opts.json && link) {
    process.stderr.write(`Web UI: ${link}\n`);
  }
  return link;
}

/** 5_580_000 -> "1h 33m"; under a minute -> "45s". */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 0) return `${Math.floor(ms / 1000)}s`;
  const [d, h, m] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  return [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : ''].filter(Boolean).join(' ');
}
