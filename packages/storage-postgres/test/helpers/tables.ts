import type { CorruptionTarget } from '@canary-rollout/storage-test-suite';
import type pg from 'pg';

/** Tables of the store's layout, each holding a `namespace` column. */
const TABLES = [
  'entries',
  'sets',
  'set_members',
  'logs',
  'metrics',
  'metric_deltas',
  'metric_batches',
  'namespaces',
];

/** Every row of every table of the schema, as text: what an erasure must leave clean. */
export async function everythingInSchema(admin: pg.Pool, schema = 'canary_rollout'): Promise<Uint8Array> {
  const tables = await admin.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
    [schema],
  );
  const parts: string[] = [];
  for (const { name } of tables.rows) {
    const rows = await admin.query<{ row: string }>(`SELECT t::text AS row FROM "${schema}"."${name}" t`);
    parts.push(name, ...rows.rows.map((r) => r.row));
  }
  return Buffer.from(parts.join('\n'));
}

/** Breaks the stored records of `target`, keeping the personal data they hold in place. */
export async function corruptRecords(
  admin: pg.Pool,
  namespace: string,
  target: CorruptionTarget,
  schema = 'canary_rollout',
): Promise<void> {
  // Cut off the closing brace: not JSON any more, and every email and name still there.
  await admin.query(
    `UPDATE "${schema}".entries SET value = left(value, length(value) - 1) WHERE namespace = $1 AND collection = $2`,
    [namespace, target],
  );
}

/** Deletes every feature, beta list and blacklisted id of the namespace, as another connection would. */
export async function wipeState(admin: pg.Pool, namespace: string, schema = 'canary_rollout'): Promise<void> {
  await admin.query(
    `WITH f AS (DELETE FROM "${schema}".entries WHERE namespace = $1 AND collection = 'features')
     DELETE FROM "${schema}".set_members WHERE namespace = $1`,
    [namespace],
  );
}

/** Removes every row of the namespace. */
export async function dropNamespace(
  admin: pg.Pool,
  namespace: string,
  schema = 'canary_rollout',
): Promise<void> {
  for (const table of TABLES) {
    await admin.query(`DELETE FROM "${schema}"."${table}" WHERE namespace = $1`, [namespace]);
  }
}
