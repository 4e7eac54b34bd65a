import type { SeedvaultConfig } from './schema.js';

const SECRET = '***';

/** The effective config with every credential masked, safe to print or paste into an issue. */
export function redactConfig(config: SeedvaultConfig): SeedvaultConfig {
  const mask = (value: string) => (value ? SECRET : '');
  return {
    ...config,
    storage: { ...config.storage, access_key: mask(config.storage.access_key), secret_key: mask(config.storage.secret_key) },
    postgres: { url: config.postgres.url.replace(/\/\/([^:/@]+):[^@]*@/, `//$1:${SECRET}@`) },
    backfill: { ...config.backfill, provider: { ...config.backfill.provider, api_key: mask(config.backfill.provider.api_key) } },
  };
}
