/**
 * Client for a TwelveData-style `time_series` API. Every failure is a ProviderError with
 * a class the workflows act on: rate_limited (wait for the window), bad_symbol (never
 * retried), provider_error and timeout (retried). "No data for these dates" is not a
 * failure: the market was closed, so the answer is no bars.
 */

export type ProviderFailureClass = 'rate_limited' | 'bad_symbol' | 'market_closed' | 'provider_error' | 'timeout';

export class ProviderError extends Error {
  constructor(
    readonly failureClass: ProviderFailureClass,
    message: string,
    /** From an HTTP 429's Retry-After header, when the provider sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** A bar as the provider sends it: numbers as strings, time in the requested zone. */
export interface RawBar {
  datetime: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume?: string;
}

export interface TimeSeriesRequest {
  symbol: string;
  /** First and last bar open wanted, inclusive, UTC epoch ms. */
  start: number;
  end: number;
  bars: number;
}

export interface ProviderSettings {
  baseUrl: string;
  apiKey: string;
  interval: string;
  timeoutMs: number;
}

/** Asks in UTC so provider datetimes map to instants without zone rules. */
const TIMEZONE = 'UTC';
const MAX_OUTPUTSIZE = 5000;
/**
 * A full answer (5,000 bars of ~150 bytes) is under 1 MiB; anything past 16 MiB is not a
 * time series, and reading it whole would cost the worker that much memory per request.
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export async function fetchTimeSeries(settings: ProviderSettings, request: TimeSeriesRequest): Promise<RawBar[]> {
  const url = new URL('time_series', settings.baseUrl.endsWith('/') ? settings.baseUrl : `${settings.baseUrl}/`);
  url.search = new URLSearchParams({
    symbol: request.symbol,
    interval: settings.interval,
    start_date: providerDatetime(request.start),
    end_date: providerDatetime(request.end),
    outputsize: String(Math.min(request.bars, MAX_OUTPUTSIZE)),
    order: 'asc',
    timezone: TIMEZONE,
    apikey: settings.apiKey,
  }).toString();
  // Messages name the symbol and the path, never the URL: it carries the api key.
  const what = `${request.symbol} ${providerDatetime(request.start)}..${providerDatetime(request.end)}`;
  // The timeout covers the whole answer: a body that stalls after the headers times out too.
  const transportFailure = (err: unknown) => {
    if (err instanceof ProviderError) return err;
    const name = (err as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return new ProviderError('timeout', `provider timed out after ${settings.timeoutMs} ms (${what})`);
    return new ProviderError('provider_error', `provider unreachable (${what}): ${(err as Error).message}`);
  };
  const response = await fetch(url, { signal: AbortSignal.timeout(settings.timeoutMs) }).catch((err: unknown) => {
    throw transportFailure(err);
  });
  if (response.status === 429) {
    const seconds = Number(response.headers.get('retry-after'));
    await response.body?.cancel();
    throw new ProviderError('rate_limited', `provider HTTP 429 (${what})`, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined);
  }
  const body = await readJson(response, what).catch((err: unknown) => {
    throw transportFailure(err);
  });
  if (!response.ok || body.status === 'error') throw classifyError(response.status, body, what);
  if (!Array.isArray(body.values)) throw new ProviderError('provider_error', `provider answer without values (${what})`);
  return body.values as RawBar[];
}

/** 'YYYY-MM-DD HH:mm:ss' in UTC, the provider's datetime format. */
export function providerDatetime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function parseProviderDatetime(text: string): number {
  // Provider answers are untrusted: a datetime that is not a string is unreadable, not a crash.
  if (typeof text !== 'string') return Number.NaN;
  return Date.parse(`${text.replace(' ', 'T')}${text.length === 10 ? 'T00:00:00' : ''}Z`);
}

interface ProviderBody {
  status?: string;
  code?: number;
  message?: string;
  values?: unknown;
}

async function readJson(response: Response, what: string): Promise<ProviderBody> {
  const text = await readBounded(response, what);
  try {
    return JSON.parse(text) as ProviderBody;
  } catch {
    const failureClass = response.status >= 500 || response.ok ? 'provider_error' : 'bad_symbol';
    throw new ProviderError(failureClass, `provider HTTP ${response.status} with a non-JSON body (${what})`);
  }
}

/** The body as text, refused (and the connection dropped) once it passes MAX_ANSWER_BYTES. */
async function readBounded(response: Response, what: string): Promise<string> {
  const tooLarge = () => new ProviderError('provider_error', `provider answer larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB, refused (${what})`);
  if (Number(response.headers.get('content-length')) > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await response.body.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** TwelveData reports most errors with HTTP 200 and `{status: "error", code, message}`. */
function classifyError(httpStatus: number, body: ProviderBody, what: string): ProviderError {
  const code = body.code ?? httpStatus;
  const message = (body.message ?? 'no message').slice(0, 300);
  const text = `provider error ${code}: ${message} (${what})`;
  if (code === 429 || /credits|rate limit/i.test(message)) return new ProviderError('rate_limited', text);
  if (/no data is available/i.test(message)) return new ProviderError('market_closed', text);
  if (code === 404 || (code === 400 && /symbol/i.test(message))) return new ProviderError('bad_symbol', text);
  return new ProviderError('provider_error', text);
}
