import { pino } from 'pino';

/**
 * Structured JSON logs on stderr, so stdout stays free for command output and --json.
 * Secrets never reach a log line: config objects are logged through `redactConfig`.
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
  pino.destination(2),
);
