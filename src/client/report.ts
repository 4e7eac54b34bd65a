import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import { createPool } from '../db/pool.js';
import { errorMessage, InputError } from '../errors.js';
import { renderCharts } from '../report/charts.js';
import { gatherReport } from '../report/data.js';
import { renderReport } from '../report/render.js';
import { createStorage } from '../storage/index.js';
import { instantFlag } from './backfill-start.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { integerFlag } from './demo-data.js';
import { formatBytes, printJson } from './output.js';

const DEFAULT_DAYS = 90;
const MAX_DAYS = 3650;
const DEFAULT_PORT = 8470;
const DEFAULT_REFRESH_SECONDS = 60;
/** Only this machine may see the page: it shows internal state and has no authentication. */
const LOOPBACK = '127.0.0.1';

interface ReportOptions {
  out?: string;
  serve?: boolean;
  port?: string;
  refresh?: string;
  days: string;
  to?: string;
  json?: boolean;
}

export function reportCommand(): Command {
  return new Command('report')
    .description('dashboard page: coverage calendar per symbol, snapshots and restores, health, backfills, file backups, ready signals')
    .option('--out <file>', 'write the page to this file (self-contained HTML, no network needed to view it)')
    .option('--serve', `serve the page live on ${LOOPBACK}, refreshing itself, until Ctrl-C`)
    .option('--port <n>', `with --serve: port (default ${DEFAULT_PORT}; 0 picks a free one)`)
    .option('--refresh <seconds>', `with --serve: reload the page every n seconds (default ${DEFAULT_REFRESH_SECONDS})`)
    .option('--days <n>', `period the coverage calendar, restores, backfills and signals cover, 1 to ${MAX_DAYS}`, String(DEFAULT_DAYS))
    .option('--to <date>', 'ISO date or instant the period ends at (default: now)')
    .option('--json', "print the page's data as JSON instead")
    .action(async (opts: ReportOptions, command: Command) => {
      const modes = [opts.out !== undefined, Boolean(opts.serve), Boolean(opts.json)].filter(Boolean).length;
      if (modes !== 1) throw new InputError('report: give exactly one of --out <file>, --serve or --json');
      if (!opts.serve && opts.port !== undefined) throw new InputError('--port: only with --serve');
      if (!opts.serve && opts.refresh !== undefined) throw new InputError('--refresh: only with --serve');
      if (opts.serve && opts.to !== undefined) throw new InputError('--to: a live page always ends now; not with --serve');
      const days = integerFlag('--days', opts.days, 1, MAX_DAYS);
      const to = instantFlag('--to', opts.to);
      const config = await commandConfig(command);
      const page = (pool: pg.Pool, refreshSeconds?: number) => buildPage(config, pool, days, to ? new Date(to) : new Date(), refreshSeconds);
      if (opts.serve) {
        return serve(config, {
          port: opts.port === undefined ? DEFAULT_PORT : integerFlag('--port', opts.port, 0, 65535),
          refreshSeconds: opts.refresh === undefined ? DEFAULT_REFRESH_SECONDS : integerFlag('--refresh', opts.refresh, 1, 86_400),
          page,
        });
      }
      if (opts.json) {
        const data = await withDatabase(config, (pool) => gatherReport({ config, pool, storage: createStorage(config.storage), days, to: to ? new Date(to) : new Date() }));
        return printJson(data);
      }
      const html = await withDatabase(config, (pool) => page(pool));
      await writeFile(opts.out!, html).catch((err: unknown) => {
        throw new InputError(`--out: cannot write ${opts.out}: ${errorMessage(err)}`);
      });
      process.stdout.write(`wrote ${opts.out} (${formatBytes(Buffer.byteLength(html))})\n`);
    });
}

async function buildPage(config: SeedvaultConfig, pool: pg.Pool, days: number, to: Date, refreshSeconds?: number): Promise<string> {
  const data = await gatherReport({ config, pool, storage: createStorage(config.storage), days, to });
  return renderReport(data, await renderCharts(data), { refreshSeconds });
}

/** Serves GET / (built anew for each request) until SIGINT or SIGTERM. */
async function serve(
  config: SeedvaultConfig,
  options: { port: number; refreshSeconds: number; page: (pool: pg.Pool, refreshSeconds: number) => Promise<string> },
): Promise<void> {
  // withDatabase checks the server answers before the page is offered, and ends the pool after.
  await withDatabase(config, async () => undefined);
  const pool = createPool(config.postgres.url, 2);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/') !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the report is at /\n');
      return;
    }
    options.page(pool, options.refreshSeconds).then(
      (html) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html),
      (err: unknown) => res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', refresh: String(options.refreshSeconds) }).end(`seedvault report: ${errorMessage(err)}\n`),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new InputError(`--port: ${options.port} is already in use on ${LOOPBACK}`) : err),
      );
      server.listen(options.port, LOOPBACK, resolve);
    });
    process.stdout.write(`serving http://${LOOPBACK}:${(server.address() as AddressInfo).port}/ (refreshes every ${options.refreshSeconds}s; Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop).off('SIGTERM', stop);
        server.closeAllConnections();
        server.close(() => resolve());
      };
      process.on('SIGINT', stop).on('SIGTERM', stop);
    });
  } finally {
    await pool.end();
  }
}
