import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  comparedColumns,
  fitSamples,
  mergeDiff,
  sampleLimitProblem,
  schemaChange,
  selectTables,
  type RowComparison,
  type RowCursor,
  type TableDiff,
} from '../src/domain/snapshot-diff.js';
import { InputError, IntegrityError } from '../src/errors.js';

type Row = { key: number; value: string };

/** Rows from an array, handing out a promise at every third row like a batch boundary would. */
function cursor(rows: Row[]): RowCursor<Row> {
  let index = -1;
  return {
    get current() {
      return rows[index]!;
    },
    get previous() {
      return index > 0 ? rows[index - 1]! : null;
    },
    advance() {
      index++;
      return index % 3 === 0 ? Promise.resolve(index < rows.length) : index < rows.length;
    },
  };
}

const byKey: RowComparison<Row> = {
  compareKeys: (a, b) => a.key - b.key,
  sameValues: (a, b) => a.value === b.value,
  describeKey: (row) => ({ key: String(row.key) }),
  changedColumns: (a, b) => ({ value: [a.value, b.value] }),
};

const rows = (spec: string): Row[] => spec.split(' ').map((pair) => ({ key: Number(pair.split('=')[0]), value: pair.split('=')[1]! }));

describe('merge diff of key-ordered rows', () => {
  test('counts added, removed and changed rows and keeps the first samples of each in key order', async () => {
    const older = rows('1=a 2=b 3=c 5=e 6=f 8=h 9=i');
    const newer = rows('0=z 2=b 3=C 4=d 6=F 7=g 9=i 10=j 11=k');
    const tally = await mergeDiff('t', cursor(older), cursor(newer), byKey, 2);
    assert.deepEqual([tally.added, tally.removed, tally.changed], [5, 3, 2]);
    assert.deepEqual(tally.samples.added, [{ key: '0' }, { key: '4' }]);
    assert.deepEqual(tally.samples.removed, [{ key: '1' }, { key: '5' }]);
    assert.deepEqual(tally.samples.changed, [
      { key: { key: '3' }, columns: { value: ['c', 'C'] } },
      { key: { key: '6' }, columns: { value: ['f', 'F'] } },
    ]);
  });

  test('an empty side makes every row of the other added or removed; limit 0 keeps no sample', async () => {
    const some = rows('1=a 2=b 3=c 4=d');
    assert.deepEqual(await mergeDiff('t', cursor([]), cursor(some), byKey, 0), { added: 4, removed: 0, changed: 0, samples: { added: [], removed: [], changed: [] } });
    const gone = await mergeDiff('t', cursor(some), cursor([]), byKey, 10);
    assert.equal(gone.removed, 4);
    assert.equal(gone.samples.removed.length, 4);
  });

  test('identical rows give an empty diff', async () => {
    const same = rows('1=a 2=b 3=c 4=d 5=e');
    assert.deepEqual(await mergeDiff('t', cursor(same), cursor(same), byKey, 10), { added: 0, removed: 0, changed: 0, samples: { added: [], removed: [], changed: [] } });
  });

  test('rows out of key order or with a repeated key fail loudly, naming the side and the keys', async () => {
    await assert.rejects(mergeDiff('t', cursor(rows('1=a 2=b')), cursor(rows('1=a 3=c 2=b')), byKey, 10), (err: Error) => {
      assert.ok(err instanceof IntegrityError);
      assert.match(err.message, /table t: the newer rows are not in strictly increasing key order \(\{"key":"3"\} then \{"key":"2"\}\)/);
      return true;
    });
    await assert.rejects(mergeDiff('t', cursor(rows('1=a 1=b')), cursor(rows('1=a')), byKey, 10), /the older rows are not in strictly increasing key order/);
  });
});

describe('diff schema rules', () => {
  const older = [
    { name: 'id', pg_type: 'bigint' },
    { name: 'price', pg_type: 'numeric(12,4)' },
    { name: 'note', pg_type: 'text' },
    { name: 'gone', pg_type: 'text' },
  ];
  const newer = [
    { name: 'id', pg_type: 'bigint' },
    { name: 'price', pg_type: 'numeric(14,4)' },
    { name: 'note', pg_type: 'text' },
    { name: 'extra', pg_type: 'integer' },
  ];

  test('reports added, removed and retyped columns; none for the same columns', () => {
    assert.deepEqual(schemaChange(older, newer), { added: ['extra'], removed: ['gone'], retyped: ['price: numeric(12,4) -> numeric(14,4)'] });
    assert.equal(schemaChange(older, [...older].reverse()), null);
  });

  test('compares the key and the common columns of unchanged type', () => {
    assert.deepEqual(comparedColumns('t', ['id'], older, newer), { key: ['id'], values: ['note'] });
  });

  test('refuses without a key, or when a key column is missing or retyped', () => {
    assert.throws(() => comparedColumns('t', [], older, newer), /table t has no primary key/);
    assert.throws(() => comparedColumns('t', ['gone'], older, newer), /key column "gone" is not on both sides/);
    assert.throws(() => comparedColumns('t', ['price'], older, newer), /key column "price" changed type \(numeric\(12,4\) -> numeric\(14,4\)\)/);
  });

  test('selects requested tables of either side, all by default, and names an unknown one', () => {
    assert.deepEqual(selectTables(undefined, ['a', 'b'], ['b', 'c']), ['a', 'b', 'c']);
    assert.deepEqual(selectTables(['c', 'a', 'c'], ['a', 'b'], ['b', 'c']), ['c', 'a']);
    assert.throws(() => selectTables(['a', 'nope'], ['a'], []), (err: Error) => err instanceof InputError && /--tables: unknown table "nope" \(in these versions: a\)/.test(err.message));
  });

  test('samples are halved until the result fits, counts kept; a small result is left alone', () => {
    const key = (i: number) => ({ id: String(i).padStart(100, '0') });
    const table: TableDiff = {
      table: 't', status: 'compared', olderRows: 2000, newerRows: 2000, added: 1000, removed: 1000, changed: 1000, schema: null, compared: ['id', 'v'], message: null,
      samples: {
        added: Array.from({ length: 1000 }, (_, i) => key(i)),
        removed: Array.from({ length: 1000 }, (_, i) => key(i)),
        changed: Array.from({ length: 1000 }, (_, i) => ({ key: key(i), columns: { v: ['x'.repeat(200), 'y'.repeat(200)] as [string, string] } })),
      },
    };
    const { tables, trimmed } = fitSamples([table, { ...table, table: 'u' }], 256 << 10);
    assert.ok(trimmed);
    assert.ok(Buffer.byteLength(JSON.stringify(tables)) <= 256 << 10);
    assert.deepEqual(tables.map((t) => [t.added, t.removed, t.changed]), [[1000, 1000, 1000], [1000, 1000, 1000]]);
    assert.equal(tables[0]!.samples.changed[0]!.key.id, key(0).id, 'the first samples in key order stay');
    assert.ok(tables[0]!.samples.changed.length >= 100, `kept ${tables[0]!.samples.changed.length}`);
    assert.deepEqual(fitSamples([table], 10 << 20), { tables: [table], trimmed: false });
  });

  test('sample limits are whole numbers from 0 to 1000', () => {
    for (const ok of [0, 10, 1000]) assert.equal(sampleLimitProblem(ok), null);
    for (const bad of [-1, 1.5, 1001, Number.NaN]) assert.match(sampleLimitProblem(bad)!, /whole number from 0 to 1000/);
  });
});
