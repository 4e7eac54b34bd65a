import type { SeedvaultConfig } from '../config/schema.js';
import { doctorReport, green, type DoctorCheck, type DoctorReport } from '../domain/doctor.js';
import { fileBackupKeyCheck, providerKeyCheck } from './local.js';
import { postgresChecks } from './postgres.js';
import { storageChecks } from './storage.js';
import { temporalChecks } from './temporal.js';

/**
 * Every doctor check for a valid config. PostgreSQL, the object store and Temporal are
 * asked in parallel, each step bounded (STEP_SECONDS), so the whole run takes seconds
 * even when every service is unreachable.
 */
export async function runDoctor(config: SeedvaultConfig, configFile: string, env: NodeJS.ProcessEnv = process.env): Promise<DoctorReport> {
  const now = new Date();
  const [postgres, storage, temporal] = await Promise.all([postgresChecks(config, env), storageChecks(config, now), temporalChecks(config, now)]);
  const checks: DoctorCheck[] = [
    green('config', `${configFile}: valid`),
    ...postgres.database,
    ...storage,
    ...temporal,
    providerKeyCheck(config),
    fileBackupKeyCheck(config, env),
    ...postgres.alerts,
  ];
  return doctorReport(checks, now);
}
