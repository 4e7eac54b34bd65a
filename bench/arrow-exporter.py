"""bench:scale's Arrow-exporter baseline: a PostgreSQL table to a snappy Parquet file the way
Python data tools do it, with the ADBC PostgreSQL driver (libpq, binary COPY into Arrow batches)
and pyarrow's ParquetWriter, one batch at a time.

Usage: DATABASE_URL=<postgres url> arrow-exporter.py <select> <out.parquet> [column=precision,scale ...]
(the URL comes from the environment: it may hold a password, which an argument would show to ps)

The driver returns NUMERIC as text; the named columns are cast to DECIMAL(precision, scale) so the
file holds the types the snapshot writes. Row groups of 131,072 rows, dictionary encoding for
strings only, chunk statistics: the snapshot's writer settings (src/parquet/parquet-writer.ts).
Session settings come from PGOPTIONS (libpq reads it). Prints as JSON the rows written and the
seconds spent casting, so the cast the driver's text numerics need can be told apart.
"""
import json
import os
import sys
import time

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 131_072


def target_schema(source: pa.Schema, decimals: dict) -> pa.Schema:
    fields = []
    for field in source:
        if field.name in decimals:
            precision, scale = decimals[field.name]
            field = pa.field(field.name, pa.decimal128(precision, scale), field.nullable)
        fields.append(field.remove_metadata())
    return pa.schema(fields)


def main() -> None:
    select, out, *decimal_args = sys.argv[1:]
    decimals = {}
    for arg in decimal_args:
        name, spec = arg.split("=")
        precision, scale = spec.split(",")
        decimals[name] = (int(precision), int(scale))
    rows = 0
    cast_seconds = 0.0
    with adbc.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        cursor.execute(select)
        reader = cursor.fetch_record_batch()
        schema = target_schema(reader.schema, decimals)
        strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_binary(f.type)]
        with pq.ParquetWriter(out, schema, compression="snappy", use_dictionary=strings, write_statistics=True) as writer:
            # Whole row groups as the snapshot writes them, whatever the driver's batch size:
            # at most one row group plus one batch is held.
            pending, pending_rows = [], 0
            for batch in reader:
                cast_started = time.perf_counter()
                columns = [batch.column(i).cast(field.type) for i, field in enumerate(schema)]
                cast_seconds += time.perf_counter() - cast_started
                pending.append(pa.RecordBatch.from_arrays(columns, schema=schema))
                pending_rows += batch.num_rows
                rows += batch.num_rows
                if pending_rows >= ROW_GROUP_ROWS:
                    table = pa.Table.from_batches(pending, schema)
                    whole = pending_rows - pending_rows % ROW_GROUP_ROWS
                    writer.write_table(table.slice(0, whole), row_group_size=ROW_GROUP_ROWS)
                    rest = table.slice(whole)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
            writer.write_table(pa.Table.from_batches(pending, schema), row_group_size=ROW_GROUP_ROWS)
    print(json.dumps({"rows": rows, "cast_seconds": cast_seconds}))


if __name__ == "__main__":
    main()
