import { z } from 'zod';

/** The `file_backups` config section (seed 003): what files are backed up, how often, for how long. */
const booleanish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const positiveInt = z.coerce.number().int().positive();

/** The name of an environment variable (the config names where a secret is, never holds it). */
export const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

const typeSchema = z.strictObject({
  /** Files, directories or globs; relative paths are relative to the worker's working directory. */
  sources: z.array(z.string().min(1)).default([]),
  enabled: booleanish.default(true),
  retention_days: positiveInt.default(30),
  /** Weekly tier (seed 003: daily 30 days, weekly 90): past retention_days, the newest backup of each ISO week stays this long. */
  weekly_retention_days: positiveInt.optional(),
  compress: booleanish.default(true),
  interval_hours: positiveInt.max(24 * 365).default(24),
  description: z.string().default(''),
}).refine((t) => t.weekly_retention_days === undefined || t.weekly_retention_days > t.retention_days, {
  message: 'must be longer than retention_days',
  path: ['weekly_retention_days'],
});

const encryptionSchema = z
  .strictObject({
    enabled: booleanish.default(false),
    /** Name of the environment variable holding the key (64 hex chars or base64 of 32 bytes). */
    key_env: envVarName.optional(),
    /** A file holding the key; keep it outside the backup storage. */
    key_file: z.string().min(1).optional(),
    /** Keys rotated out: never used to encrypt, only to verify and restore the backups made with them. */
    previous_key_envs: z.array(envVarName).default([]),
    previous_key_files: z.array(z.string().min(1)).default([]),
  })
  .refine((e) => !e.enabled || Boolean(e.key_env) !== Boolean(e.key_file), 'when enabled, set exactly one of key_env and key_file');

/** `HH:MM`, UTC. */
const RUN_AT = /^([01]\d|2[0-3]):[0-5]\d$/;

export const fileBackupsSchema = z
  .strictObject({
    /** false: no file backup schedules at all (`setup` deletes existing ones); manual runs still work. */
    enabled: booleanish.default(true),
    /** UTC time the schedules fire (seed 003's cron: 02:00); other intervals keep this phase. */
    run_at: z.string().regex(RUN_AT, 'must be HH:MM (UTC), such as "02:00"').default('02:00'),
    /** Prefix in the seeds' bucket or folder. */
    prefix: z.string().regex(/^([a-z0-9][a-z0-9._-]*\/)+$/, 'must be folder names ending in "/", such as "files/"').default('files/'),
    /** A separate local folder instead of the seeds' storage. */
    local_path: z.string().min(1).optional(),
    encryption: encryptionSchema.prefault({}),
    types: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'must be a-z, 0-9 and _ (starting with a letter, at most 32)'), typeSchema).default({}),
  })
  .prefault({});
