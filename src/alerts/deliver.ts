import type { AlertChannelConfig } from '../config/alerts-schema.js';
import { slackBody, webhookBody, type Alert } from '../domain/alerts.js';
import { InputError, ServiceError } from '../errors.js';

/** One delivery attempt; the caller retries. */
export const ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * The channel's URL, from the environment variable the config names. Messages name the
 * variable, never its value: the URL of an incoming webhook is a credential.
 */
export function channelUrl(channel: string, config: AlertChannelConfig, env: NodeJS.ProcessEnv = process.env): URL {
  const value = env[config.url_env];
  if (!value) throw new InputError(`alert channel ${channel}: environment variable ${config.url_env} is not set`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`alert channel ${channel}: ${config.url_env} does not hold a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InputError(`alert channel ${channel}: ${config.url_env} must hold an http(s) URL`);
  return url;
}

/** Why a request failed, from its error code only: fetch's messages may quote the URL. */
function failure(channel: string, err: unknown): ServiceError {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new ServiceError(`alert channel ${channel}: no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`);
  return new ServiceError(`alert channel ${channel}: request failed (${e.cause?.code ?? e.name ?? 'error'})`);
}

/** POSTs the alert in the channel's shape; any answer but 2xx, or none in time, is a ServiceError without the URL. */
export async function postAlert(channel: string, config: AlertChannelConfig, alert: Alert, link?: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const url = channelUrl(channel, config, env);
  const body = config.type === 'slack' ? slackBody(alert, link) : webhookBody(alert, link);
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, redirect: 'error', signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
  } catch (err) {
    throw failure(channel, err);
  }
  // The answer's body is not needed, and may be large.
  await response.body?.cancel().catch(() => {});
  if (!response.ok) throw new ServiceError(`alert channel ${channel}: answered HTTP ${response.status}`);
}
