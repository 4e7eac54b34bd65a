import { resolve } from 'node:path';
import { Command } from 'commander';
import type { SeedvaultConfig } from '../config/schema.js';
import { backupTypeProblem } from '../domain/file-backup-id.js';
import { worstLevel } from '../domain/file-backup-health.js';
import { parsePointInTime, type CleanupPlan } from '../domain/file-backup-selection.js';
import { errorMessage, InputError, IntegrityError } from '../errors.js';
import { assertBackupId, deleteFileBackup, fileBackupStorage, listFileBackups } from '../files/catalog.js';
import { fileBackupHealth } from '../files/health.js';
import { readNothingToBackUp } from '../files/nothing-to-back-up.js';
import { recordFileBackupsPruned } from '../files/records.js';
import { loadKeyring } from '../files/key.js';
import type { RestoreResult } from '../files/restore.js';
import { verifyFileBackup } from '../files/verify.js';
import type { FileBackupInput, FileBackupResult } from '../workflows/file-backup.js';
import type { FileRestoreInput } from '../workflows/file-restore.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { runFileWorkflow } from './files-run.js';
import { formatBytes, printJson, printTable } from './output.js';

/** `--type a,b` checked before any I/O. */
function typesFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const types = value.split(',').map((t) => t.trim());
  for (const type of types) {
    const problem = backupTypeProblem(type);
    if (problem) throw new InputError(`--type: invalid backup type "${type.slice(0, 40)}": ${problem}`);
  }
  return types;
}

const say = (json: boolean | undefined, line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

function printPlan(plan: CleanupPlan, dryRun: boolean): void {
  for (const d of plan.delete) process.stdout.write(`${dryRun ? 'would delete' : 'deleted'} ${d.backup_id} (${d.reason})\n`);
  for (const k of plan.keep) process.stdout.write(`kept ${k.backup_id}${k.tier ? ` [${k.tier}]` : ''} (${k.reason})\n`);
  if (plan.delete.length === 0) process.stdout.write('nothing to clean up\n');
}

const keyring = (config: SeedvaultConfig) => () => loadKeyring(config.file_backups.encryption);

export function filesCommand(): Command {
  const files = new Command('files').description('back up, list, verify, restore and clean up files and directories (seed 003)');

  files
    .command('create')
    .description('back up one type (or every enabled type) now, as a Temporal workflow')
    .option('--type <types>', 'backup type(s), comma-separated (default: every enabled type)')
    .option('--source <path>', "file, directory or glob to back up instead of the type's configured sources")
    .option('--description <text>', 'stored in metadata.json')
    .option('--json', 'machine-readable output')
    .action(async (opts: { type?: string; source?: string; description?: string; json?: boolean }, command: Command) => {
      const types = typesFlag(opts.type);
      if (opts.source !== undefined && types?.length !== 1) throw new InputError('--source needs exactly one --type');
      if (opts.description !== undefined && opts.description.length > 1000) throw new InputError('--description: at most 1000 characters');
      const config = await commandConfig(command);
      // The worker reads the source, so a relative path is made absolute here, where it was meant.
      const input: FileBackupInput = { types, source: opts.source && resolve(opts.source), description: opts.description, trigger: 'manual' };
      const result = await runFileWorkflow<FileBackupResult>(config, 'fileBackup', 'file-backup', input, `file backup of ${types?.join(', ') ?? 'every enabled type'}`, Boolean(opts.json));
      if (opts.json) return printJson(result);
      for (const b of result.backups) say(false, `${b.backup_id}  ${b.archive}  ${formatBytes(b.size_bytes)}  ${b.entries} entries${b.encrypted ? '  encrypted' : ''}`);
      for (const n of result.nothing_to_back_up) say(false, `${n.type}: nothing to back up, ${n.reason}`);
    });

  files
    .command('list')
    .description('list file backups, newest first')
    .option('--type <type>', 'only this type')
    .option('--json', 'machine-readable output')
    .action(async (opts: { type?: string; json?: boolean }, command: Command) => {
      const type = typesFlag(opts.type)?.[0];
      const config = await commandConfig(command);
      const storage = fileBackupStorage(config);
      const backups = await listFileBackups(storage, type);
      const nothing = [...(await readNothingToBackUp(storage)).values()].filter((n) => !type || n.backup_type === type);
      if (opts.json) {
        return printJson({ location: storage.location, backups: backups.map(({ metadata, ...b }) => ({ ...b, ...(metadata ?? {}), files: metadata?.files.length ?? null })), nothing_to_back_up: nothing });
      }
      for (const n of nothing) say(false, `${n.backup_type}: nothing to back up at ${n.at}, ${n.reason}`);
      if (backups.length === 0) return say(false, `no file backups in ${storage.location}`);
      printTable(
        backups.map((b) => ({
          id: b.backup_id,
          type: b.backup_type,
          timestamp: b.timestamp,
          state: b.complete ? 'complete' : 'incomplete',
          size: b.metadata ? formatBytes(b.metadata.size_bytes) : null,
          entries: b.metadata?.files.length ?? null,
          encrypted: b.metadata?.encryption ? 'yes' : '',
          description: b.metadata?.description || null,
        })),
      );
    });

  files
    .command('restore')
    .description('restore a backup (or per type the newest at or before --at) into --dest, as a Temporal workflow')
    .option('--id <id>', 'backup id, e.g. portfolio_20251217_162039')
    .option('--type <types>', 'with --at: only these types (default: every type; several go to <dest>/<type>/)')
    .option('--at <timestamp>', 'point in time, ISO 8601 (no zone: UTC; a date alone: the end of that day)')
    .requiredOption('--dest <dir>', 'destination folder')
    .option('--overwrite', 'replace existing files instead of refusing')
    .option('--json', 'machine-readable output')
    .action(async (opts: { id?: string; type?: string; at?: string; dest: string; overwrite?: boolean; json?: boolean }, command: Command) => {
      if (Boolean(opts.id) === Boolean(opts.at)) throw new InputError('restore needs exactly one of --id and --at');
      if (opts.id && opts.type) throw new InputError('--type goes with --at, not --id');
      const at = opts.at === undefined ? undefined : parsePointInTime(opts.at);
      if (at === null) throw new InputError(`--at: "${opts.at!.slice(0, 40)}" is not an ISO 8601 date or time`);
      const input: FileRestoreInput = {
        id: opts.id && assertBackupId(opts.id),
        types: typesFlag(opts.type),
        at: at?.toISOString(),
        dest: resolve(opts.dest),
        overwrite: Boolean(opts.overwrite),
      };
      const config = await commandConfig(command);
      const results = await runFileWorkflow<RestoreResult[]>(config, 'fileRestore', 'file-restore', input, `restore ${opts.id ?? `as of ${input.at}`} to ${input.dest}`, Boolean(opts.json));
      if (opts.json) return printJson(results);
      for (const r of results) say(false, `restored ${r.backup_id} -> ${r.dest} (${r.entries} entries)`);
    });

  files
    .command('verify')
    .description('read backups back: archive sha256, then every file against metadata.json (exit 4 on a mismatch)')
    .option('--id <id>', 'one backup')
    .option('--all', 'every complete backup')
    .option('--json', 'machine-readable output')
    .action(async (opts: { id?: string; all?: boolean; json?: boolean }, command: Command) => {
      if (Boolean(opts.id) === Boolean(opts.all)) throw new InputError('verify needs exactly one of --id and --all');
      if (opts.id) assertBackupId(opts.id);
      const config = await commandConfig(command);
      const storage = fileBackupStorage(config);
      const ids = opts.id ? [opts.id] : (await listFileBackups(storage)).filter((b) => b.complete).map((b) => b.backup_id);
      const results = [];
      for (const id of ids) {
        try {
          results.push({ ...(await verifyFileBackup(storage, id, keyring(config))), ok: true, error: null });
        } catch (err) {
          if (opts.id && !(err instanceof IntegrityError)) throw err;
          results.push({ backup_id: id, ok: false, error: errorMessage(err) });
        }
        const last = results.at(-1)!;
        say(opts.json, last.ok ? `OK      ${id}` : `FAILED  ${last.error!.startsWith(id) ? '' : `${id}: `}${last.error}`);
      }
      if (opts.json) printJson(results);
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) throw new IntegrityError(failed.length === 1 ? failed[0]!.error! : `${failed.length} of ${results.length} backups failed verify`);
      if (results.length === 0) say(opts.json, `no complete file backups in ${storage.location}`);
    });

  files
    .command('cleanup')
    .description("delete backups older than their type's retention_days, past the weekly tier (never a type's newest), as a Temporal workflow")
    .option('--dry-run', 'list what would be deleted and which tier keeps the rest, delete nothing')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const dryRun = Boolean(opts.dryRun);
      const plan = await runFileWorkflow<CleanupPlan>(config, 'fileBackupCleanup', 'file-backup-cleanup', { dryRun }, `file backup cleanup${dryRun ? ' (dry run)' : ''}`, Boolean(opts.json));
      if (opts.json) printJson({ dryRun, ...plan });
      else printPlan(plan, dryRun);
    });

  files
    .command('delete')
    .description('delete one backup')
    .requiredOption('--id <id>', 'backup id')
    .option('--json', 'machine-readable output')
    .action(async (opts: { id: string; json?: boolean }, command: Command) => {
      assertBackupId(opts.id);
      const config = await commandConfig(command);
      // Its backup_metadata row is marked pruned, as cleanup does; PostgreSQL is checked before anything is deleted.
      const objects = await withDatabase(config, async (pool) => {
        const deleted = await deleteFileBackup(fileBackupStorage(config), opts.id);
        await recordFileBackupsPruned(pool, [opts.id]);
        return deleted;
      });
      if (opts.json) printJson({ backup_id: opts.id, deleted_objects: objects });
      else say(false, `deleted ${opts.id} (${objects} objects)`);
    });

  files
    .command('health')
    .description('per type: newest backup present, at most 48 h old, archive intact (exit 4 when red)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const items = await fileBackupHealth(config, fileBackupStorage(config));
      if (opts.json) printJson({ status: worstLevel(items), components: items });
      else if (items.length === 0) say(false, config.file_backups.enabled ? 'no file backup types are enabled' : 'file backups are off (file_backups.enabled: false)');
      else printTable(items.map((i) => ({ component: i.component, status: i.status, details: i.details })));
      if (worstLevel(items) === 'red') throw new IntegrityError(`file backups are red: ${items.filter((i) => i.status === 'red').map((i) => i.component).join(', ')}`);
    });

  return files;
}
