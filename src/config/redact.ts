import type { SeedvaultConfig } from './schema.js';

const SECRET = '***';

/** The effective config with every credential masked, safe to print or paste into an issue. */
export function redactConfig(config: SeedvaultConfig): SeedvaultConfig {
  const mask = (value: string) => (value ? SECRET : '');
  const keys = <T extends { access_key: string; secret_key: string }>(store: T): T => ({ ...store, access_key: mask(store.access_key), secret_key: mask(store.secret_key) });
  return {
    ...config,
    storage: { ...keys(config.storage), ...(config.storage.mirror && { mirror: keys(config.storage.mirror) }) },
    postgres: { url: config.postgres.url.replace(/\/\/([^:/@]+):[^@]*@/, `//$1:${SECRET}@`) },
    backfill: { ...config.backfill, provider: { ...config.backfill.provider, api_key: mask(config.backfill.provider.api_key) } },
  };
}
