import { formatBytes, formatDuration } from '../client/output.js';
import type { CoverageDay } from '../domain/day-coverage.js';
import type { ReportCharts } from './charts.js';
import type { ReportData, RunLink, SymbolCoverage } from './data.js';

/**
 * The dashboard page (issue 17) as one self-contained HTML document: inline CSS, inline SVG
 * charts, no script and no external reference (an empty inline icon keeps browsers from
 * asking for /favicon.ico). Pure: data in, string out; every value
 * taken from the data is escaped.
 */

export interface RenderOptions {
  /** Reload the page every n seconds (`report --serve`). */
  refreshSeconds?: number;
}

/** Gaps listed per symbol; the counts by severity cover them all. */
const LISTED_GAPS = 10;

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Template tag: interpolated values are escaped unless they are already rendered `Html`. */
class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | boolean | null | undefined | Part[];

function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  const part = (v: Part): string => (v instanceof Html ? v.text : Array.isArray(v) ? v.map(part).join('') : escapeHtml(v));
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]!) : ''), ''));
}

/** Vega's SVG output, trusted as markup: Vega escapes the text it draws. */
const svg = (markup: string | null, empty: string): Html => (markup === null ? html`<p class="empty">${empty}</p>` : new Html(`<div class="chart">${markup}</div>`));

export function renderReport(data: ReportData, charts: ReportCharts, options: RenderOptions = {}): string {
  const refresh = options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
${refresh}
<title>seedvault report ${data.generatedAt.slice(0, 16)}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<header>
<h1>seedvault</h1>
<p>Generated ${data.generatedAt}; period ${data.from} to ${data.to} (${data.days} days); storage ${data.storage}</p>
</header>
<section id="coverage"><h2>Coverage</h2>${data.symbols.map(symbolSection)}</section>
<section id="snapshots"><h2>Snapshots</h2>
${svg(charts.snapshotSizes, 'no snapshot versions in storage')}
${snapshotTable(data)}
<h3>Restores</h3>
${restoreTable(data)}
</section>
<section id="health"><h2>Health</h2>${healthSection(data, charts)}</section>
<section id="backfills"><h2>Backfill executions</h2>${backfillTable(data)}</section>
<section id="file-backups"><h2>File backups</h2>${fileBackupTable(data)}</section>
<section id="signals"><h2>Ready signals</h2>${signalTable(data)}</section>
</body>
</html>
`.text;
}

function runLink(run: RunLink | undefined): Html {
  if (!run) return html``;
  return run.url ? html`<a class="run" href="${run.url}">${run.workflowId}</a>` : html`<span class="run">${run.workflowId}</span>`;
}

function table(headers: string[], rows: Html[], empty: string, id?: string): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table${id ? html` id="${id}"` : ''}><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

function symbolSection(s: SymbolCoverage): Html {
  const severities = Object.entries(s.gapsBySeverity).map(([severity, n]) => html`<span class="sev sev-${severity.toLowerCase()}" data-severity="${severity}">${severity} ${n}</span>`);
  const gaps = s.worstGaps.slice(0, LISTED_GAPS).map((g) => html`<tr><td>${g.severity}</td><td>${g.type}</td><td>${g.start}</td><td>${g.end}</td><td class="num">${g.bars}</td></tr>`);
  return html`<article class="symbol" data-symbol="${s.symbol}">
<h3>${s.symbol}</h3>
<p>${s.completenessPct}% complete (${s.presentBars}/${s.expectedBars} bars), calendar ${s.calendar} (${s.zone}); gaps: ${severities}</p>
${calendarGrid(s.days)}
${table(['severity', 'type', 'first missing bar', 'last missing bar', 'bars'], gaps, 'no gaps in the period')}
</article>`;
}

/** Weeks as columns, Monday on top, like a contribution calendar. */
function calendarGrid(days: CoverageDay[]): Html {
  if (days.length === 0) return html``;
  const firstWeekday = (new Date(`${days[0]!.day}T00:00:00Z`).getUTCDay() + 6) % 7;
  const padding = Array.from({ length: firstWeekday }, () => html`<span class="pad"></span>`);
  const cells = days.map((d) => {
    const shade = d.state !== 'missing' ? '' : d.completenessPct >= 90 ? ' light' : d.completenessPct >= 50 ? ' medium' : ' heavy';
    return html`<span class="day ${d.state}${shade}" data-day="${d.day}" data-state="${d.state}" data-missing-bars="${d.missingBars}" title="${dayTitle(d)}"></span>`;
  });
  return html`<p class="muted">${days[0]!.day} to ${days.at(-1)!.day}, a column per week, Monday at the top</p>
<div class="calendar">${padding}${cells}</div>
<p class="legend"><span class="day complete"></span> complete <span class="day missing light"></span><span class="day missing medium"></span><span class="day missing heavy"></span> bars missing <span class="day closed"></span> closed <span class="day pending"></span> not due yet</p>`;
}

function dayTitle(d: CoverageDay): string {
  if (d.state === 'closed') return `${d.day}: market closed`;
  if (d.state === 'pending') return `${d.day}: no bar due yet`;
  const present = `${d.day}: ${d.expectedBars - d.missingBars}/${d.expectedBars} bars (${d.completenessPct}%)`;
  if (d.missing.length === 0) return present;
  return `${present}; missing ${d.missing.map((r) => (r.bars === 1 ? r.first : `${r.first}-${r.last} (${r.bars} bars)`)).join(', ')}`;
}

function snapshotTable(data: ReportData): Html {
  const rows = data.snapshots.map((v) => {
    const badges = [v.latest ? html`<span class="badge">latest</span>` : '', v.pinned ? html`<span class="badge">pinned</span>` : '', v.complete ? '' : html`<span class="badge warn">incomplete</span>`];
    const tables = v.tables.map((t) => html`<div>${t.table}: ${t.rows} rows, ${formatBytes(t.bytes)}</div>`);
    return html`<tr data-version="${v.version}"><td>${v.version} ${badges}</td><td>${v.createdAt ?? ''}</td><td>${tables}</td><td class="num">${formatBytes(v.bytes)}</td><td>${v.durationMs === null ? '' : formatDuration(v.durationMs)}</td><td class="verify-${v.verify}">${v.verify}${v.verifiedAt ? ` ${v.verifiedAt}` : ''}</td><td>${runLink(v.run)}</td></tr>`;
  });
  return table(['version', 'created', 'tables', 'size', 'duration', 'verify', 'run'], rows, 'no snapshot versions in storage', 'snapshot-versions');
}

function restoreTable(data: ReportData): Html {
  const rows = data.restores.map((r) => {
    const tables = r.tables.map((t) => html`<div>${t.table}: ${t.status} (${t.mode}${t.source ? `, from ${t.source}` : ''}${t.rowsLoaded === null ? '' : `, ${t.rowsLoaded} rows`})${t.message ? html` <span class="muted">${t.message}</span>` : ''}</div>`);
    return html`<tr><td>${r.at}</td><td>${r.version ?? ''}</td><td>${tables}</td><td>${runLink(r.run)}</td></tr>`;
  });
  return table(['at', 'version', 'tables', 'run'], rows, 'no restores in the period', 'restores');
}

function healthSection(data: ReportData, charts: ReportCharts): Html {
  const now = data.health.now.map((c) => html`<tr data-component="${c.component}"><td class="level ${c.status}">${c.status}</td><td>${c.component}</td><td>${c.details}</td><td>${c.measuredAt}</td></tr>`);
  const history = data.health.history.map(
    (c) => html`<tr><td>${c.component}</td><td class="level ${c.worst}">${c.worst}</td><td>${formatDuration(c.time_ms.green)}</td><td>${formatDuration(c.time_ms.yellow)}</td><td>${formatDuration(c.time_ms.red)}</td><td class="num">${c.changes}</td></tr>`,
  );
  return html`<h3>Now (last recorded check)</h3>
${table(['status', 'component', 'details', 'measured'], now, 'no health recorded yet', 'health-now')}
<h3>Last ${data.health.days} days</h3>
${svg(charts.healthDaily, 'no health recorded in the period')}
${table(['component', 'worst', 'green', 'yellow', 'red', 'changes'], history, '')}`;
}

function backfillTable(data: ReportData): Html {
  const rows = data.backfills.map(
    (b) => html`<tr data-execution="${b.execution_id}"><td>${b.started}</td><td class="num">${b.symbols}</td><td class="num">${b.completed}</td><td class="num">${b.failed}</td><td class="num">${b.open}</td><td class="num">${b.bars}</td><td class="num">${b.alerts}</td><td>${runLink(b.run)}</td></tr>`,
  );
  return table(['started', 'symbols', 'completed', 'failed', 'open', 'bars inserted', 'alerts', 'run'], rows, 'no backfills in the period', 'backfill-executions');
}

function fileBackupTable(data: ReportData): Html {
  if (data.fileBackupsError) return html`<p class="error">cannot read file backups: ${data.fileBackupsError}</p>`;
  const rows = data.fileBackups.map(
    (t) => html`<tr data-type="${t.type}"><td>${t.type}</td><td class="num">${t.backups}</td><td class="num">${t.incomplete}</td><td>${t.newestAt ?? ''}</td><td>${t.newestAgeMs === null ? '' : formatDuration(t.newestAgeMs)}</td><td class="num">${t.newestBytes === null ? '' : formatBytes(t.newestBytes)}</td><td>${t.encrypted === null ? '' : t.encrypted ? 'yes' : 'no'}</td><td>${runLink(t.run)}</td></tr>`,
  );
  return table(['type', 'backups', 'incomplete', 'newest', 'age', 'size', 'encrypted', 'run'], rows, 'no file backups', 'file-backup-types');
}

function signalTable(data: ReportData): Html {
  const rows = data.signals.map((s) => html`<tr><td>${s.signalType}</td><td>${s.status}</td><td class="num">${s.count}</td></tr>`);
  return table(['signal', 'state', 'count'], rows, 'no ready signals in the period', 'ready-signals');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0 2rem 3rem;color:#1f2328;background:#fff}
h1{margin:1rem 0 0}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.num{text-align:right}.muted,.empty{color:#656d76}.error{color:#cf222e}
.calendar{display:grid;grid-template-rows:repeat(7,12px);grid-auto-flow:column;grid-auto-columns:12px;gap:2px;margin:.5rem 0}
.day{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:middle}
.day.complete{background:#2da44e}.day.closed{background:#d0d7de}.day.pending{background:#fff;outline:1px dashed #8c959f;outline-offset:-1px}
.day.missing.light{background:#d4a72c}.day.missing.medium{background:#e16f24}.day.missing.heavy{background:#cf222e}
.legend .day{margin:0 .2rem}
.sev{margin-right:.5rem}.sev-critical{color:#cf222e}.sev-high{color:#e16f24}.sev-medium{color:#9a6700}
.badge{font-size:11px;border:1px solid #8c959f;border-radius:8px;padding:0 .4rem;margin-left:.2rem}.badge.warn{border-color:#cf222e;color:#cf222e}
.level.green{color:#1a7f37}.level.yellow{color:#9a6700}.level.red{color:#cf222e;font-weight:600}
.verify-failed{color:#cf222e}.chart svg{max-width:100%;height:auto}
`;
