/**
 * The fast swap for `replace`: the staging table is built as a complete twin of the live
 * table (logged; columns, defaults, identity, CHECK and NOT NULL constraints; the live
 * table's indexes and key constraints built after the load) and then renamed
 * into its place, so the rows are written once instead of twice.
 *
 * Only for plain tables whose every dependent object the twin carries over: a table with
 * triggers, foreign keys, views, row security, publications, serial (non-identity)
 * defaults, exclusion or deferrable constraints, extended statistics or inheritance uses
 * TRUNCATE + INSERT instead (see commit.ts).
 */
import pg from 'pg';

/**
 * Why the live table cannot be swapped by rename, or null when it can. pg_get_expr opens the
 * relation it deparses for: the CASE keeps it to this table's defaults, so a lock another
 * session holds on some other table never holds the restore back.
 */
export async function renameSwapBlocker(client: pg.ClientBase, liveSql: string): Promise<string | null> {
  const { rows } = await client.query<{ blocker: string }>(
    `WITH t AS (SELECT $1::regclass AS oid)
     SELECT 'trigger' AS blocker FROM pg_trigger, t WHERE tgrelid = t.oid AND NOT tgisinternal
     UNION ALL SELECT 'foreign key' FROM pg_constraint, t WHERE contype = 'f' AND (conrelid = t.oid OR confrelid = t.oid)
     UNION ALL SELECT 'exclusion or deferrable constraint' FROM pg_constraint, t WHERE conrelid = t.oid AND (contype = 'x' OR condeferrable)
     UNION ALL SELECT 'view or rule' FROM pg_depend d, t WHERE d.refobjid = t.oid AND d.classid = 'pg_rewrite'::regclass
     UNION ALL SELECT 'row security' FROM pg_class c, t WHERE c.oid = t.oid AND (c.relrowsecurity OR c.relkind <> 'r')
     UNION ALL SELECT 'policy' FROM pg_policy, t WHERE polrelid = t.oid
     UNION ALL SELECT 'publication' FROM pg_publication_rel, t WHERE prrelid = t.oid
     UNION ALL SELECT 'inheritance' FROM pg_inherits, t WHERE inhrelid = t.oid OR inhparent = t.oid
     UNION ALL SELECT 'extended statistics' FROM pg_statistic_ext, t WHERE stxrelid = t.oid
     UNION ALL SELECT 'serial default' FROM pg_attrdef, t
                WHERE CASE WHEN adrelid = t.oid THEN pg_get_expr(adbin, adrelid) LIKE '%nextval(%' END
     LIMIT 1`,
    [liveSql],
  );
  return rows[0]?.blocker ?? null;
}

/** The staging twin's column definitions, copied from the live table. */
export const TWIN_LIKE = 'INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION';

/** The staging table's name for a live index: unique to the run, renamed back at the swap. */
function twinIndexName(index: string, suffix: string): string {
  return `${index.slice(0, 48)}_${suffix}`;
}

/**
 * Builds the live table's indexes and key constraints on the loaded staging table: a bulk
 * build, faster than maintaining them row by row. Statistics are left to autovacuum, which
 * analyzes a freshly loaded table within a minute, as after pg_restore.
 */
export async function completeTwin(client: pg.ClientBase, liveSql: string, staging: string, suffix: string): Promise<void> {
  const { rows } = await client.query<{ name: string; definition: string; constraint: string | null }>(
    `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
            CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' END AS constraint
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')
      WHERE i.indrelid = $1::regclass ORDER BY ic.relname`,
    [liveSql],
  );
  // The default 64 MB makes a 10M-row key index sort spill to disk; SET LOCAL ends with the transaction.
  await client.query('BEGIN');
  await client.query(`SET LOCAL maintenance_work_mem = '512MB'`);
  for (const index of rows) {
    const twin = twinIndexName(index.name, suffix);
    // pg_get_indexdef gives "CREATE [UNIQUE] INDEX name ON ONLY? schema.table USING ...".
    const using = index.definition.slice(index.definition.indexOf(' USING '));
    const unique = index.definition.startsWith('CREATE UNIQUE') ? 'UNIQUE ' : '';
    await client.query(`CREATE ${unique}INDEX ${pg.escapeIdentifier(twin)} ON ${staging}${using}`);
    if (index.constraint) await client.query(`ALTER TABLE ${staging} ADD CONSTRAINT ${pg.escapeIdentifier(twin)} ${index.constraint} USING INDEX ${pg.escapeIdentifier(twin)}`);
  }
  await client.query('COMMIT');
}

/**
 * Inside the caller's transaction, with the live table locked: drops it and renames the
 * twin into its place, restoring index, constraint and identity sequence names, owner,
 * grants, storage options and the table comment.
 */
export async function swapByRename(client: pg.ClientBase, liveSql: string, staging: string, suffix: string): Promise<void> {
  const live = (
    await client.query<{ schema: string; name: string; owner: string; acl: string[] | null; options: string[] | null; comment: string | null }>(
      `SELECT n.nspname AS schema, c.relname AS name, pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl,
              c.reloptions AS options, obj_description(c.oid, 'pg_class') AS comment
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass`,
      [liveSql],
    )
  ).rows[0]!;
  const indexes = (await client.query<{ name: string }>(`SELECT ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = $1::regclass`, [liveSql])).rows;
  const sequences = (
    await client.query<{ column: string; sequence: string }>(
      `SELECT attname::text AS column, pg_get_serial_sequence($1, attname) AS sequence FROM pg_attribute
        WHERE attrelid = $1::regclass AND attidentity <> '' AND NOT attisdropped`,
      [liveSql],
    )
  ).rows;
  const schema = pg.escapeIdentifier(live.schema);
  await client.query(`DROP TABLE ${liveSql}`);
  await client.query(`ALTER TABLE ${staging} SET SCHEMA ${schema}`);
  const moved = `${schema}.${staging.slice(staging.lastIndexOf('.') + 1)}`;
  await client.query(`ALTER TABLE ${moved} RENAME TO ${pg.escapeIdentifier(live.name)}`);
  for (const { name } of indexes) await client.query(`ALTER INDEX ${schema}.${pg.escapeIdentifier(twinIndexName(name, suffix))} RENAME TO ${pg.escapeIdentifier(name)}`);
  for (const { column, sequence } of sequences) {
    const twinSequence = (await client.query<{ s: string }>(`SELECT pg_get_serial_sequence($1, $2) AS s`, [liveSql, column])).rows[0]!.s;
    await client.query(`ALTER SEQUENCE ${twinSequence} RENAME TO ${pg.escapeIdentifier(sequence.slice(sequence.lastIndexOf('.') + 1).replace(/^"|"$/g, ''))}`);
  }
  await client.query(`ALTER TABLE ${liveSql} OWNER TO ${pg.escapeIdentifier(live.owner)}`);
  if (live.options?.length) await client.query(`ALTER TABLE ${liveSql} SET (${live.options.join(', ')})`);
  if (live.comment !== null) await client.query(`COMMENT ON TABLE ${liveSql} IS ${pg.escapeLiteral(live.comment)}`);
  for (const grant of await grants(client, live.acl)) await client.query(`GRANT ${grant.privilege} ON ${liveSql} TO ${grant.grantee}`);
}

/** GRANT statements reproducing an ACL (the owner's own rights come with ownership). */
async function grants(client: pg.ClientBase, acl: string[] | null): Promise<{ privilege: string; grantee: string }[]> {
  if (!acl?.length) return [];
  const { rows } = await client.query<{ privilege: string; grantee: string }>(
    `SELECT a.privilege_type AS privilege, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
       FROM aclexplode($1::aclitem[]) a WHERE a.grantee <> a.grantor`,
    [acl],
  );
  return rows;
}
