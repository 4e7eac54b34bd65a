import { rmSync } from 'node:fs';
import { ServiceError } from '../errors.js';
import { log } from '../logging.js';
import { secondsSince } from './install.js';
import { ensureBucket, minioEndpoint, minioIsRunning, startMinio, stopMinio } from './minio.js';
import { resolvePaths, type StackOptions, type StackPaths } from './paths.js';
import { canBind, HOST, waitUntil } from './ports.js';
import { applyMigrations, crashPostgres, type CrashKind, databaseUrl, postgresIsRunning, removePostgresData, requirePassword, startPostgres, stopPostgres } from './postgres.js';
import { COMPONENT_NAMES, type ComponentName, type ComponentRecords, readState, type StackState, withStackLock, writeState } from './state.js';
import { ensureStackSearchAttributes, startTemporal, stopTemporal, temporalIsRunning } from './temporal.js';

export type { StackOptions } from './paths.js';
export type { CrashKind } from './postgres.js';
export type { ComponentName } from './state.js';
export { COMPONENT_NAMES } from './state.js';

/** What clients need to reach the stack; `seedvault stack env` prints it as shell exports. */
export interface StackEnv {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_UI_URL: string;
  DATABASE_URL: string;
  S3_ENDPOINT: string;
  S3_ACCESS_KEY: string;
  S3_SECRET_KEY: string;
  S3_BUCKET: string;
  S3_REGION: string;
}

export interface ComponentStatus {
  name: ComponentName;
  pid: number | null;
  port: number | null;
  running: boolean;
  /** gRPC address, S3 endpoint or DATABASE_URL (never with a password). */
  url: string | null;
  /** Temporal Web UI or MinIO console. */
  uiUrl: string | null;
  logFile: string | null;
}

/** What the stack does with each kind of component; one entry per file of this folder. */
interface Driver<R> {
  start(paths: StackPaths, prev: R | undefined, samePorts: boolean): Promise<R>;
  isRunning(rec: R): Promise<boolean>;
  /** Runs after every start or reuse; must be cheap and idempotent. */
  afterUp(rec: R): Promise<void>;
  stop(rec: R): Promise<void>;
  url(rec: R): string;
  uiUrl(rec: R): string | null;
}

const DRIVERS: { [N in ComponentName]: Driver<ComponentRecords[N]> } = {
  temporal: {
    start: startTemporal,
    isRunning: temporalIsRunning,
    afterUp: ensureStackSearchAttributes,
    stop: stopTemporal,
    url: (r) => `${HOST}:${r.port}`,
    uiUrl: (r) => `http://${HOST}:${r.uiPort}`,
  },
  minio: {
    start: startMinio,
    isRunning: minioIsRunning,
    afterUp: ensureBucket,
    stop: stopMinio,
    url: minioEndpoint,
    uiUrl: (r) => `http://${HOST}:${r.consolePort}`,
  },
  postgres: {
    start: startPostgres,
    isRunning: postgresIsRunning,
    afterUp: async (r) => {
      const applied = await applyMigrations(r);
      if (applied.length > 0) log.info({ applied }, `postgres: applied ${applied.length} migration(s)`);
    },
    stop: stopPostgres,
    url: (r) => databaseUrl({ ...r, password: undefined }),
    uiUrl: () => null,
  },
};

/**
 * Reuses a component whose recorded process still serves, else starts it. With `samePorts`
 * the recorded ports are required (fault tests restart a component under the same URL).
 */
async function upOne<N extends ComponentName>(paths: StackPaths, state: StackState, name: N, samePorts: boolean): Promise<void> {
  const driver: Driver<ComponentRecords[N]> = DRIVERS[name];
  const started = Date.now();
  const prev = state[name] as ComponentRecords[N] | undefined;
  let rec: ComponentRecords[N];
  let action: 'reused' | 'started';
  if (prev && prev.pid !== null && (await driver.isRunning(prev))) {
    rec = prev;
    action = 'reused';
  } else {
    // A just-stopped server may release its port a moment after its pid is gone.
    if (samePorts && prev && !(await waitUntil(() => canBind(prev.port), 10_000))) {
      throw new ServiceError(`${name}: port ${prev.port} is taken by another process; cannot restart on the same port`);
    }
    rec = await driver.start(paths, prev, samePorts);
    action = 'started';
    state[name] = rec as StackState[N];
    writeState(paths, state);
  }
  await driver.afterUp(rec);
  log.info({ component: name, action, pid: rec.pid, port: rec.port, seconds: secondsSince(started) }, `${name} ${action} on port ${rec.port}`);
}

/** Throws one ServiceError for all failed components, after the others were recorded. */
function throwFailures(results: PromiseSettledResult<unknown>[]): void {
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ServiceError(errors.map((e) => e.message).join('\n\n'));
}

function envFrom(state: StackState): StackEnv | null {
  const { temporal, minio, postgres } = state;
  if (!temporal || !minio || !postgres) return null;
  return {
    TEMPORAL_ADDRESS: `${HOST}:${temporal.port}`,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_UI_URL: `http://${HOST}:${temporal.uiPort}`,
    DATABASE_URL: databaseUrl(postgres),
    S3_ENDPOINT: minioEndpoint(minio),
    S3_ACCESS_KEY: minio.accessKey,
    S3_SECRET_KEY: minio.secretKey,
    S3_BUCKET: minio.bucket,
    S3_REGION: minio.region,
  };
}

/** Starts (or reuses) Temporal, MinIO and PostgreSQL in parallel; a second call is a fast no-op. */
export async function stackUp(opts?: StackOptions): Promise<StackEnv> {
  const paths = resolvePaths(opts);
  return withStackLock(paths, async () => {
    const state = readState(paths);
    throwFailures(await Promise.allSettled(COMPONENT_NAMES.map((name) => upOne(paths, state, name, false))));
    return envFrom(state)!;
  });
}

async function downOne(paths: StackPaths, state: StackState, name: ComponentName): Promise<void> {
  const rec = state[name];
  if (!rec || rec.pid === null) return;
  await (DRIVERS[name] as Driver<typeof rec>).stop(rec);
  rec.pid = null;
  writeState(paths, state);
  log.info({ component: name }, `${name} stopped`);
}

/** Stops exactly the recorded processes; data, ports and credentials stay for the next `up`. */
export async function stackDown(opts?: StackOptions): Promise<void> {
  const paths = resolvePaths(opts);
  await withStackLock(paths, async () => {
    const state = readState(paths);
    throwFailures(await Promise.allSettled(COMPONENT_NAMES.map((name) => downOne(paths, state, name))));
  });
}

/**
 * Stops the stack and deletes all it recorded: the state dir and, when root, the PostgreSQL
 * data kept outside it. For throwaway stacks (test runs); binaries in the cache dir stay.
 */
export async function stackRemove(opts?: StackOptions): Promise<void> {
  const paths = resolvePaths(opts);
  await withStackLock(paths, async () => {
    const state = readState(paths);
    throwFailures(await Promise.allSettled(COMPONENT_NAMES.map((name) => downOne(paths, state, name))));
    if (state.postgres) removePostgresData(state.postgres);
    rmSync(paths.stateDir, { recursive: true, force: true });
  });
}

/** Stops one component, keeping its port and data (fault injection). */
export async function stopComponent(name: ComponentName, opts?: StackOptions): Promise<void> {
  const paths = resolvePaths(opts);
  await withStackLock(paths, async () => downOne(paths, readState(paths), name));
}

/** Crashes PostgreSQL (fault injection): the next start runs crash recovery on the same data. */
export async function crashPostgresComponent(kind: CrashKind, opts?: StackOptions): Promise<void> {
  const paths = resolvePaths(opts);
  await withStackLock(paths, async () => {
    const rec = readState(paths).postgres;
    if (!rec) throw new ServiceError('postgres: not part of this stack');
    await crashPostgres(rec, kind);
  });
}

/**
 * Gives the running PostgreSQL's role a password that every TCP connection must give from
 * then on (the stack starts with trust); the stack's DATABASE_URL carries it afterwards.
 */
export async function setPostgresPassword(password: string, opts?: StackOptions): Promise<void> {
  const paths = resolvePaths(opts);
  await withStackLock(paths, async () => {
    const state = readState(paths);
    if (!state.postgres) throw new ServiceError('postgres: not part of this stack');
    await requirePassword(state.postgres, password);
    writeState(paths, state);
  });
}

/** Starts one component again on its recorded port and data; a no-op when it runs. */
export async function startComponent(name: ComponentName, opts?: StackOptions): Promise<void> {
  const paths = resolvePaths(opts);
  await withStackLock(paths, async () => upOne(paths, readState(paths), name, true));
}

export async function stackStatus(opts?: StackOptions): Promise<ComponentStatus[]> {
  const state = readState(resolvePaths(opts));
  return Promise.all(
    COMPONENT_NAMES.map(async (name): Promise<ComponentStatus> => {
      const rec = state[name];
      if (!rec) return { name, pid: null, port: null, running: false, url: null, uiUrl: null, logFile: null };
      const driver = DRIVERS[name] as Driver<typeof rec>;
      const running = rec.pid !== null && (await driver.isRunning(rec));
      return { name, pid: running ? rec.pid : null, port: rec.port, running, url: driver.url(rec), uiUrl: driver.uiUrl(rec), logFile: rec.logFile };
    }),
  );
}

/** The recorded stack's env, or null when none was set up or none of its processes runs. */
export async function readStackEnv(opts?: StackOptions): Promise<StackEnv | null> {
  const status = await stackStatus(opts);
  if (!status.some((s) => s.running)) return null;
  return envFrom(readState(resolvePaths(opts)));
}
