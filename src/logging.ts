import { pino } from 'pino';

/**
 * `json`: one pino object per line, for log collectors (the default, and `seedvault worker`
 * unless it runs in a terminal). `pretty`: `12:00:01.123 INFO worker started taskQueue=seedvault`,
 * for a worker watched in a terminal. `human`: the message alone (`warning: ...` from warn
 * up), for the progress a command a person typed reports on stderr.
 */
export type LogFormat = 'json' | 'pretty' | 'human';

interface LineSink {
  write(line: string): void;
}

/** Where `log` writes now; `routeLogs` moves it (a worker hosted by a CLI command writes to a file). */
let sink: LineSink = pino.destination(2);

/**
 * Structured logs on stderr (or the file `routeLogs` names), so stdout stays free for
 * command output and --json. Secrets never reach a log line: config objects are logged
 * through `redactConfig`.
 */
export const log = pino(
  {
    level: process.env.SEEDVAULT_LOG_LEVEL ?? 'info',
    base: { app: 'seedvault' },
    redact: {
      paths: ['*.secret_key', '*.secretKey', '*.password', '*.access_key', '*.accessKey', '*.api_key'],
      censor: '***',
    },
  },
  { write: (line: string) => sink.write(line) },
);

/** Sends every later log line to `file` (appended, created with its folder) or to stderr, in `format`. */
export function routeLogs(format: LogFormat, file?: string): void {
  const destination = file ? pino.destination({ dest: file, append: true, mkdir: true, sync: true }) : pino.destination(2);
  sink = format === 'json' ? destination : { write: (line) => destination.write(formatLogLine(line, format)) };
}

/** `SEEDVAULT_LOG_FORMAT` when set, else pretty lines in a terminal and JSON anywhere else. */
export function workerLogFormat(): LogFormat {
  const forced = process.env.SEEDVAULT_LOG_FORMAT;
  if (forced === 'json' || forced === 'pretty') return forced;
  return process.stdout.isTTY && process.stderr.isTTY ? 'pretty' : 'json';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One pino JSON line in a format for people; a line that is not JSON passes through. */
export function formatLogLine(line: string, format: Exclude<LogFormat, 'json'>): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, app: _app, ...fields } = entry;
  const levelName = LEVEL_NAMES[level as number] ?? String(level);
  if (format === 'human') {
    return `${(level as number) >= 40 ? `${levelName.toLowerCase()}: ` : ''}${String(msg ?? '')}\n`;
  }
  const clock = new Date(time as number).toISOString().slice(11, 23);
  const details = Object.entries(fields).map(([key, value]) => ` ${key}=${fieldText(value)}`).join('');
  return `${clock} ${levelName.padEnd(5)} ${String(msg ?? '')}${details}\n`;
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value && typeof value === 'object' && 'message' in value) return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value);
}
