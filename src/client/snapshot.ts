import { Command } from 'commander';
import type { SeedvaultConfig } from '../config/schema.js';
import type { Manifest } from '../domain/manifest.js';
import { retentionPolicy, type PrunePlan } from '../domain/retention.js';
import { InputError } from '../errors.js';
import { createMirrorStorage, createStorage } from '../storage/index.js';
import { listVersions, pruneStores, readLatestVersion, readManifest, reservationOwner } from '../storage/seed-catalog.js';
import { setPinned } from '../storage/pin.js';
import { writeOrder } from '../storage/stores.js';
import { connectClient, isWorkflowRunning } from '../temporal/connection.js';
import { commandConfig } from './context.js';
import { announceRun, formatBytes, printJson, printTable } from './output.js';
import { startSnapshot, validateVersionFlag, waitWithProgress, type CreateOptions } from './snapshot-create.js';
import { snapshotDiffCommand } from './snapshot-diff.js';

export function printManifestSummary(manifest: Manifest): void {
  process.stdout.write(`snapshot ${manifest.version} (created ${manifest.created_at})\n`);
  printTable(
    Object.entries(manifest.tables).map(([table, t]) => ({
      table,
      rows: t.rows,
      from: t.date_range?.[0] ?? null,
      to: t.date_range?.[1] ?? null,
      size: formatBytes(t.size_bytes),
      parts: t.parts?.length ?? 1,
      sha256: `${t.sha256.slice(0, 16)}…`,
    })),
  );
}

async function requireManifest(config: SeedvaultConfig, version: string): Promise<Manifest> {
  validateVersionFlag(version, 'version');
  const storage = createStorage(config.storage);
  const manifest = await readManifest(storage, version);
  if (!manifest) throw new InputError(`snapshot ${version} not found or incomplete in ${storage.location}`);
  return manifest;
}

export function snapshotCommand(): Command {
  const snapshot = new Command('snapshot').description('create, list, inspect, pin and prune seed snapshots');

  snapshot
    .command('create')
    .description('start a seed snapshot of the configured tables (a Temporal workflow)')
    .option('--version <version>', 'snapshot version YYYY.MM.DD[-suffix] (default: today UTC, suffixed if taken)')
    .option('--tables <list>', 'comma-separated tables or source keys (default: all sources)')
    .option('--pin', 'pin the snapshot so prune never deletes it')
    .option('--wait', 'follow progress and print the manifest summary at the end')
    .option('--json', 'machine-readable output')
    .action(async (opts: CreateOptions & { wait?: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const handle = await startSnapshot(config, opts);
      const link = announceRun(config, handle, opts);
      if (!opts.wait) return;
      const result = await waitWithProgress(handle);
      if (opts.json) printJson({ workflowId: handle.workflowId, ...result, webUi: link });
      else {
        printManifestSummary(result.manifest);
        const pruned = result.prune.delete.map((d) => d.version);
        process.stdout.write(`latest -> ${result.version}; pruned: ${pruned.length ? pruned.join(', ') : 'none'}\n`);
      }
    });

  snapshot
    .command('list')
    .description('list snapshot versions: latest marker, pinned, complete/incomplete, rows, bytes')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const storage = createStorage(config.storage);
      const [versions, latest] = await Promise.all([listVersions(storage), readLatestVersion(storage)]);
      // An incomplete version is "writing" while its run is alive; without Temporal we cannot tell.
      const client = versions.some((v) => !v.complete) ? await connectClient(config).catch(() => null) : null;
      const rows = await Promise.all(
        versions.map(async (v) => {
          const manifest = v.complete ? await readManifest(storage, v.version) : null;
          const tableRows = manifest ? Object.values(manifest.tables).reduce((sum, t) => sum + t.rows, 0) : null;
          const owner = v.complete ? null : await reservationOwner(storage, v.version);
          const writing = client && owner ? await isWorkflowRunning(client, owner).catch(() => false) : false;
          return { ...v, writing, owner, latest: v.version === latest, rows: tableRows, created_at: manifest?.created_at ?? null };
        }),
      ).finally(() => client?.connection.close());
      if (opts.json) return printJson({ location: storage.location, latest, versions: rows });
      if (rows.length === 0) return void process.stdout.write(`no snapshots in ${storage.location}\n`);
      printTable(
        rows.map((r) => ({
          version: r.version,
          latest: r.latest ? '*' : '',
          pinned: r.pinned ? 'pinned' : '',
          state: r.complete ? 'complete' : r.writing ? `writing (${r.owner})` : 'incomplete',
          rows: r.rows,
          size: formatBytes(r.bytes),
          created: r.created_at,
        })),
      );
    });

  snapshot
    .command('show')
    .description("print a snapshot's manifest")
    .argument('<version>', 'YYYY.MM.DD[-suffix]')
    .option('--json', 'print the manifest itself')
    .action(async (version: string, opts: { json?: boolean }, command: Command) => {
      const manifest = await requireManifest(await commandConfig(command), version);
      if (opts.json) printJson(manifest);
      else printManifestSummary(manifest);
    });

  for (const [name, pinned] of [['pin', true], ['unpin', false]] as const) {
    snapshot
      .command(name)
      .description(pinned ? 'keep a snapshot whatever the retention count (in storage.mirror too)' : 'let retention delete the snapshot again')
      .argument('<version>', 'YYYY.MM.DD[-suffix]')
      .option('--json', 'machine-readable output')
      .action(async (version: string, opts: { json?: boolean }, command: Command) => {
        const config = await commandConfig(command);
        await requireManifest(config, version);
        for (const { storage } of writeOrder(createStorage(config.storage), createMirrorStorage(config.storage))) await setPinned(storage, version, pinned);
        if (opts.json) printJson({ version, pinned });
        else process.stdout.write(`${version} ${pinned ? 'pinned' : 'unpinned'}\n`);
      });
  }

  snapshot
    .command('prune')
    .description(`keep the newest backup.retention_count complete snapshots, none older than backup.retention_days (plus latest, pinned and the newest complete), in storage.mirror too`)
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const client = await connectClient(config);
      const plan = await pruneStores(createStorage(config.storage), createMirrorStorage(config.storage), retentionPolicy(config.backup, new Date()), Boolean(opts.dryRun), (id) =>
        isWorkflowRunning(client, id),
      ).finally(() => client.connection.close());
      if (opts.json) return printJson({ dryRun: Boolean(opts.dryRun), ...plan });
      const verb = opts.dryRun ? 'would delete' : 'deleted';
      const print = (store: string, { keep, delete: deleted }: PrunePlan) => {
        for (const d of deleted) process.stdout.write(`${store}${verb} ${d.version} (${d.reason})\n`);
        for (const k of keep) process.stdout.write(`${store}kept ${k.version} (${k.reason})\n`);
        if (deleted.length === 0) process.stdout.write(`${store}nothing to prune\n`);
      };
      print('', plan);
      if (plan.mirror) print('mirror: ', plan.mirror);
    });

  snapshot.addCommand(snapshotDiffCommand());

  return snapshot;
}
