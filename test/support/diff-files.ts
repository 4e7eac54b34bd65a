/**
 * Child process of the diff memory test: diffs two Parquet files and prints the tally with
 * its peak RSS before and after, so the figure is the diff's own, not the test process's.
 *
 *   node diff-files.js <older.parquet> <newer.parquet> <key,columns> <value,columns>
 */
import { diffParquetFiles } from '../../src/diff/snapshot-diff.js';

const [older, newer, key, values] = process.argv.slice(2) as [string, string, string, string];
const baselineKiB = process.resourceUsage().maxRSS;
const tally = await diffParquetFiles('wide_rows', [older], [newer], { key: key.split(','), values: values.split(',') }, 5);
process.stdout.write(`${JSON.stringify({ added: tally.added, removed: tally.removed, changed: tally.changed, baselineKiB, peakKiB: process.resourceUsage().maxRSS })}\n`);
