import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { migrate, MIGRATIONS_DIR } from '../db/migrate.js';
import { ServiceError } from '../errors.js';
import { log } from '../logging.js';
import { type StackPaths, stateDirId } from './paths.js';
import { HOST, pickPort, portAnswers } from './ports.js';
import { asUser, isAlive, run, startFailure, stopProcessGroup, waitGone } from './process.js';
import type { PostgresRecord } from './state.js';

const BIN_DIR = '/usr/lib/postgresql/15/bin';
const DB_USER = 'seedvault';
const DATABASE = 'seedvault';
const IS_ROOT = process.getuid?.() === 0;

/**
 * Dev/test settings: fsync off for speed (safe unless the machine itself crashes), but
 * commits reach the WAL before they return, so a crash of PostgreSQL alone loses nothing
 * committed (the crash tests rely on it); loopback TCP only, no unix socket (its default
 * dir may not exist or be writable), room for parallel tests.
 */
function serverOptions(port: number): string {
  return [
    `-p ${port}`,
    `-c listen_addresses=${HOST}`,
    "-c unix_socket_directories=''",
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
}

/** With the role's password when the stack has one (setPostgresPassword). */
export function databaseUrl(rec: PostgresRecord, database = rec.database): string {
  const user = rec.password ? `${rec.dbUser}:${encodeURIComponent(rec.password)}` : rec.dbUser;
  return `postgres://${user}@${HOST}:${rec.port}/${database}`;
}

export async function postgresIsRunning(rec: PostgresRecord): Promise<boolean> {
  return rec.pid !== null && isAlive(rec.pid, 'postgres') && (await portAnswers(rec.port));
}

/** Installs PostgreSQL 15 with apt when missing (root only). */
async function ensureBinaries(): Promise<void> {
  if (existsSync(join(BIN_DIR, 'pg_ctl'))) return;
  if (!IS_ROOT) throw new ServiceError(`postgres: PostgreSQL 15 not found in ${BIN_DIR}; install it with: sudo apt-get install -y postgresql-15`);
  log.info('installing postgresql-15 with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, timeoutMs: 10 * 60_000 });
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql-15'], { env, timeoutMs: 15 * 60_000 });
}

/** PostgreSQL refuses to run as root: then use the `postgres` account, or create `seedvault`. */
async function serverUser(): Promise<string | null> {
  if (!IS_ROOT) return null;
  for (const user of ['postgres', 'seedvault']) {
    if (await userExists(user)) return user;
  }
  await run('useradd', ['-r', '-M', '-s', '/usr/sbin/nologin', 'seedvault']);
  return 'seedvault';
}

async function userExists(user: string): Promise<boolean> {
  try {
    await run('id', ['-u', user]);
    return true;
  } catch {
    return false;
  }
}

const ROOT_DATA_PARENT = '/var/tmp/seedvault-pg';

/** Root's home is 0700, unreachable for the server user: then data lives under /var/tmp, one dir per state dir. */
function baseDir(paths: StackPaths, user: string | null): string {
  return user ? join(ROOT_DATA_PARENT, stateDirId(paths.stateDir)) : join(paths.stateDir, 'postgres');
}

async function chownTo(dir: string, user: string): Promise<void> {
  const uid = Number((await run('id', ['-u', user])).stdout.trim());
  const gid = Number((await run('id', ['-g', user])).stdout.trim());
  chownSync(dir, uid, gid);
}

/** initdb when needed, then pg_ctl start on the recorded port when free (always, with `samePort`). */
export async function startPostgres(paths: StackPaths, prev: PostgresRecord | undefined, samePort: boolean): Promise<PostgresRecord> {
  await ensureBinaries();
  const user = await serverUser();
  const base = baseDir(paths, user);
  if (user) sweepAbandonedData();
  mkdirSync(base, { recursive: true, mode: 0o755 });
  if (user) {
    await chownTo(base, user);
    writeFileSync(join(base, OWNER_FILE), paths.stateDir);
  }
  const rec: PostgresRecord = {
    pid: null,
    port: samePort && prev ? prev.port : await pickPort(prev?.port),
    binDir: BIN_DIR,
    dataDir: join(base, 'data'),
    logFile: join(base, 'postgres.log'),
    osUser: user ?? userInfo().username,
    dbUser: DB_USER,
    database: DATABASE,
    password: prev?.password,
  };
  const pgRun = (tool: string, args: string[], timeoutMs = 120_000) => {
    const [cmd, argv] = asUser(user, join(BIN_DIR, tool), args);
    return run(cmd, argv, { timeoutMs, cwd: base });
  };

  await stopOrphan(rec, user);
  if (!existsSync(join(rec.dataDir, 'PG_VERSION'))) {
    await pgRun('initdb', ['-D', rec.dataDir, '-U', DB_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  }
  try {
    await pgRun('pg_ctl', ['-D', rec.dataDir, '-l', rec.logFile, '-w', '-t', '60', '-o', serverOptions(rec.port), 'start'], 90_000);
  } catch (err) {
    throw startFailure('postgres', `pg_ctl start failed: ${(err as Error).message.split('\n')[0]}`, rec.logFile);
  }
  rec.pid = readPostmasterPid(rec.dataDir);
  if (!rec.pid) throw startFailure('postgres', `no pid in ${rec.dataDir}/postmaster.pid after start`, rec.logFile);
  if (!(await portAnswers(rec.port))) throw startFailure('postgres', `started but port ${rec.port} does not answer`, rec.logFile);
  await ensureDatabase(rec);
  return rec;
}

/** A server still running on this data dir while stack.json lost track of it would block the start. */
async function stopOrphan(rec: PostgresRecord, user: string | null): Promise<void> {
  if (!existsSync(join(rec.dataDir, 'postmaster.pid'))) return;
  const pid = readPostmasterPid(rec.dataDir);
  if (pid && isAlive(pid, 'postgres')) {
    log.warn({ pid }, 'postgres: stopping a server left running on this data dir');
    await stopPostgres({ ...rec, pid, osUser: user ?? rec.osUser });
  }
}

/** The postmaster's pid, or 0 when the file is missing or unreadable. */
function readPostmasterPid(dataDir: string): number {
  try {
    return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
  } catch {
    return 0;
  }
}

async function ensureDatabase(rec: PostgresRecord): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(rec, 'postgres') });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [rec.database]);
    if (found.rowCount === 0) await client.query(`create database "${rec.database}" owner "${rec.dbUser}"`);
  } finally {
    await client.end();
  }
}

/** initdb's trust for every connection, replaced: the unix socket is off, TCP must prove the password. */
const PASSWORD_HBA = `# Written by seedvault (setPostgresPassword): TCP connections must give the role's password.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
`;

/**
 * Gives the stack's role a password (stored as a SCRAM verifier) and makes TCP connections
 * prove it, from the reload on; the record keeps it so later starts and migrations connect.
 */
export async function requirePassword(rec: PostgresRecord, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(rec, 'postgres') });
  await client.connect();
  try {
    await client.query(`alter role ${pg.escapeIdentifier(rec.dbUser)} password ${pg.escapeLiteral(password)}`);
    writeFileSync(join(rec.dataDir, 'pg_hba.conf'), PASSWORD_HBA);
    await client.query('select pg_reload_conf()');
  } finally {
    await client.end();
  }
  rec.password = password;
}

/** Applies pending migrations; an empty migrations folder means nothing to apply. */
export async function applyMigrations(rec: PostgresRecord): Promise<string[]> {
  const files = existsSync(MIGRATIONS_DIR) ? readdirSync(MIGRATIONS_DIR).filter((f) => /\.(sql|js|cjs|mjs|ts)$/.test(f)) : [];
  if (files.length === 0) return [];
  try {
    return await migrate(databaseUrl(rec));
  } catch (err) {
    throw new ServiceError(`postgres: migrations in ${MIGRATIONS_DIR} failed: ${(err as Error).message}`, { cause: err });
  }
}

export async function stopPostgres(rec: PostgresRecord): Promise<void> {
  if (rec.pid === null || !isAlive(rec.pid, 'postgres')) return;
  const user = rec.osUser === userInfo().username ? null : rec.osUser;
  const [cmd, argv] = asUser(user, join(rec.binDir, 'pg_ctl'), ['-D', rec.dataDir, 'stop', '-m', 'fast', '-w', '-t', '15']);
  try {
    await run(cmd, argv, { timeoutMs: 30_000, cwd: '/' });
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'pg_ctl stop failed; killing postgres');
    await stopProcessGroup(rec.pid, 0);
  }
  if (!(await waitGone(rec.pid, 5000))) throw new ServiceError(`postgres: pid ${rec.pid} still running after stop`);
}

export type CrashKind = 'immediate' | 'sigkill';

/**
 * Crashes the server the way production does (fault tests): `immediate` is `pg_ctl stop -m
 * immediate` (no checkpoint), `sigkill` kills the postmaster alone and waits for its
 * orphaned backends to notice and exit. Either way the next start runs crash recovery.
 */
export async function crashPostgres(rec: PostgresRecord, kind: CrashKind): Promise<void> {
  if (rec.pid === null || !isAlive(rec.pid, 'postgres')) throw new ServiceError('postgres: not running, nothing to crash');
  if (kind === 'immediate') {
    const user = rec.osUser === userInfo().username ? null : rec.osUser;
    const [cmd, argv] = asUser(user, join(rec.binDir, 'pg_ctl'), ['-D', rec.dataDir, 'stop', '-m', 'immediate', '-w', '-t', '15']);
    await run(cmd, argv, { timeoutMs: 30_000, cwd: '/' });
  } else {
    const backends = childPids(rec.pid);
    process.kill(rec.pid, 'SIGKILL');
    for (const pid of [rec.pid, ...backends]) {
      if (!(await waitGone(pid, 10_000))) process.kill(pid, 'SIGKILL');
    }
  }
  if (!(await waitGone(rec.pid, 5000))) throw new ServiceError(`postgres: pid ${rec.pid} survived the crash`);
  // A killed postmaster that its parent has not reaped yet still answers kill(pid, 0), and
  // PostgreSQL would refuse to start over its lock file; the process is dead, so is the lock.
  if (kind === 'sigkill' && existsSync(`/proc/${rec.pid}`)) rmSync(join(rec.dataDir, 'postmaster.pid'), { force: true });
}

function childPids(parent: number): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the name in field 2 may hold spaces, so split after it.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent ? [Number(name)] : [];
    } catch {
      return [];
    }
  });
}

/** Names the state dir a data dir under ROOT_DATA_PARENT belongs to. */
const OWNER_FILE = 'state-dir';

/**
 * Data dirs under ROOT_DATA_PARENT whose state dir was deleted (a test run that removed its
 * temp folder) would pile up forever: delete them unless their server still runs.
 */
function sweepAbandonedData(): void {
  const entries = existsSync(ROOT_DATA_PARENT) ? readdirSync(ROOT_DATA_PARENT) : [];
  for (const entry of entries) {
    const base = join(ROOT_DATA_PARENT, entry);
    let owner: string;
    try {
      owner = readFileSync(join(base, OWNER_FILE), 'utf8');
    } catch {
      continue; // not ours, or being created
    }
    const pid = readPostmasterPid(join(base, 'data'));
    if (!existsSync(owner) && !(pid && isAlive(pid, 'postgres'))) {
      log.info({ dir: base, stateDir: owner }, 'postgres: removing data of a deleted state dir');
      rmSync(base, { recursive: true, force: true });
    }
  }
}

/** Deletes the data kept outside the state dir (root only); anything else is left alone. */
export function removePostgresData(rec: PostgresRecord): void {
  const base = dirname(rec.dataDir);
  if (dirname(base) === ROOT_DATA_PARENT) rmSync(base, { recursive: true, force: true });
}
