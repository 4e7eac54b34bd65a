import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ReportData } from './data.js';

/** Inline SVG charts of the page: Vega-Lite specs rendered in Node, so the page needs no script or network. */
export interface ReportCharts {
  /** Stored bytes per version and table. */
  snapshotSizes: string | null;
  /** Worst health level per component and day. */
  healthDaily: string | null;
}

const LEVEL_COLOURS = { domain: ['green', 'yellow', 'red'], range: ['#2da44e', '#d4a72c', '#cf222e'] };

export async function renderCharts(data: ReportData): Promise<ReportCharts> {
  const sizes = data.snapshots.flatMap((v) => v.tables.map((t) => ({ version: v.version, table: t.table, bytes: t.bytes })));
  return {
    snapshotSizes:
      sizes.length === 0
        ? null
        : await toSvg({
            data: { values: sizes },
            mark: 'bar',
            width: { step: 28 },
            height: 160,
            encoding: {
              x: { field: 'version', type: 'ordinal', sort: 'ascending', title: 'version' },
              y: { field: 'bytes', type: 'quantitative', aggregate: 'sum', title: 'bytes stored', axis: { format: '~s' } },
              color: { field: 'table', type: 'nominal', title: 'table' },
            },
          }),
    healthDaily:
      data.health.daily.length === 0
        ? null
        : await toSvg({
            data: { values: data.health.daily },
            mark: { type: 'rect', stroke: 'white' },
            width: { step: 18 },
            height: { step: 18 },
            encoding: {
              x: { field: 'day', type: 'ordinal', title: 'day (UTC)', axis: { labelAngle: -60 } },
              y: { field: 'component', type: 'nominal', title: null },
              color: { field: 'worst', type: 'nominal', title: 'worst level', scale: LEVEL_COLOURS },
            },
          }),
  };
}

/** Renders one spec with inline data only: a loader that refuses every load keeps it offline. */
async function toSvg(spec: TopLevelSpec): Promise<string> {
  const offline = { ...vega.loader(), load: () => Promise.reject(new Error('report charts load nothing')) } as vega.Loader;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', loader: offline });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
