import { createHash } from 'node:crypto';
import { redactConfig } from '../../config/redact.js';
import type { ActivityDeps } from '../deps.js';

export interface SnapshotSettings {
  /** Every configured source key, in config order. */
  sources: string[];
  /** Fingerprints of the configuration the snapshot was taken with (secrets excluded). */
  configSnapshot: Record<string, string>;
  /** Where `storage.mirror` is (the version is copied there before it is published), or null. Absent in runs planned before mirrors. */
  mirror?: string | null;
  /** backup.parallelism: tables or parts exported at once. Absent in runs planned before split tables. */
  parallelism?: number;
}

/** Hands the workflow the worker's config facts it needs, since workflow code cannot read files. */
export function settingsActivities({ config, mirror }: ActivityDeps) {
  return {
    async snapshotSettings(): Promise<SnapshotSettings> {
      const fingerprint = (value: unknown) => `sha256:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
      const redacted = redactConfig(config);
      return {
        sources: Object.keys(config.sources),
        configSnapshot: {
          seed_config: fingerprint(redacted),
          sources: fingerprint(redacted.sources),
          backup: fingerprint(redacted.backup),
        },
        mirror: mirror?.location ?? null,
        parallelism: config.backup.parallelism,
      };
    },
  };
}
