import { StoreUnavailableError } from '@canary-rollout/core';
import { MAX_METRIC_COUNT } from '@canary-rollout/core/store-kit';
import type { PoolClient, QueryConfig, QueryResultRow } from 'pg';
import { PKG } from '../options';

/** What the version row names as the owner of a schema. */
export const PRODUCT = 'canary-rollout';

/** The layout this code reads and writes. Each later layout adds a step to `MIGRATIONS`. */
export const SCHEMA_VERSION = 3;

/** Largest counter value: sums stop here. */
const MAX_COUNT = String(MAX_METRIC_COUNT);
/** Largest finite double: latency sums stop here. */
const MAX_DOUBLE = '1.7976931348623157e308';

/** `"name"` for SQL; schema names are checked to be plain identifiers, this is belt and braces. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Steps from one layout to the next; `MIGRATIONS[n]` takes a schema from version n to n + 1. All
 * of them run in one transaction with the version row, so a schema is always at one version.
 */
export const MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
CREATE TABLE ${s}.namespaces (
  namespace text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 0
);
CREATE TABLE ${s}.entries (
  namespace text NOT NULL,
  collection text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  version integer NOT NULL,
  created bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (namespace, collection, key)
);
CREATE TABLE ${s}.sets (
  namespace text NOT NULL,
  name text NOT NULL,
  version bigint NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE TABLE ${s}.set_members (
  namespace text NOT NULL,
  name text NOT NULL,
  member text NOT NULL,
  PRIMARY KEY (namespace, name, member)
);
CREATE TABLE ${s}.logs (
  namespace text NOT NULL,
  log text NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  at double precision NOT NULL,
  entry text NOT NULL,
  PRIMARY KEY (namespace, log, seq)
);
CREATE TABLE ${s}.metrics (
  namespace text NOT NULL,
  feature text NOT NULL,
  arm text NOT NULL,
  stage integer NOT NULL,
  bucket_start bigint NOT NULL,
  calls bigint NOT NULL,
  successes bigint NOT NULL,
  failures bigint NOT NULL,
  latency_count bigint NOT NULL,
  latency_sum_ms double precision NOT NULL,
  histogram jsonb NOT NULL,
  users jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, bucket_start, feature, arm, stage)
);
CREATE INDEX metrics_updated ON ${s}.metrics (namespace, updated_at);
CREATE TABLE ${s}.metric_batches (
  namespace text NOT NULL,
  writer text NOT NULL,
  seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, writer)
);

-- Counter maps (histogram bins) summed key by key, saturating. Only the delta's keys are visited:
-- the stored map can be much larger than one flush's.
CREATE FUNCTION ${s}.sum_counts(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT a || coalesce((SELECT jsonb_object_agg(d.key, LEAST(coalesce((a->>d.key)::numeric, 0) + d.value::numeric, ${MAX_COUNT}))
    FROM jsonb_each_text(b) AS d), '{}'::jsonb)
$$;
-- Distinct-user registers merged key by key by maximum: only the delta's registers that raise one.
CREATE FUNCTION ${s}.max_registers(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT a || coalesce((SELECT jsonb_object_agg(d.key, d.value::int)
    FROM jsonb_each_text(b) AS d WHERE d.value::int > coalesce((a->>d.key)::int, 0)), '{}'::jsonb)
$$;
-- Latency sums: float8 addition past the largest double is an error in PostgreSQL, so stop before.
CREATE FUNCTION ${s}.add_latency(a double precision, b double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN a > ${MAX_DOUBLE}::double precision - b THEN ${MAX_DOUBLE}::double precision ELSE a + b END
$$;

-- One conditional, all-or-nothing commit in one statement: expectations are checked while the
-- namespace row is locked, which every commit of the namespace takes first.
CREATE FUNCTION ${s}.commit_changes(p_ns text, p_channel text, p_expect jsonb, p_ops jsonb, p_values text[])
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_conflicts jsonb := '[]'::jsonb;
  v_changed text[] := '{}';
  v_state boolean := false;
  v_found bigint;
  v_i integer := 0;
  e jsonb;
  o jsonb;
BEGIN
  INSERT INTO ${s}.namespaces (namespace) VALUES (p_ns) ON CONFLICT (namespace) DO NOTHING;
  SELECT version INTO v_version FROM ${s}.namespaces WHERE namespace = p_ns FOR UPDATE;
  FOR e IN SELECT value FROM jsonb_array_elements(p_expect) LOOP
    IF e ? 's' THEN
      SELECT version INTO v_found FROM ${s}.sets WHERE namespace = p_ns AND name = e->>'s';
      v_found := coalesce(v_found, 0);
    ELSE
      v_found := NULL;
      SELECT version INTO v_found FROM ${s}.entries
        WHERE namespace = p_ns AND collection = e->>'c' AND key = e->>'k';
    END IF;
    IF v_found IS DISTINCT FROM (e->>'v')::bigint THEN
      v_conflicts := v_conflicts || jsonb_build_array(jsonb_build_array(v_i, v_found));
    END IF;
    v_i := v_i + 1;
  END LOOP;
  IF jsonb_array_length(v_conflicts) > 0 THEN
    RETURN jsonb_build_object('conflicts', v_conflicts);
  END IF;
  FOR o IN SELECT value FROM jsonb_array_elements(p_ops) LOOP
    CASE o->>'op'
    WHEN 'put' THEN
      INSERT INTO ${s}.entries AS t (namespace, collection, key, value, version)
        VALUES (p_ns, o->>'c', o->>'k', p_values[(o->>'v')::int], 1)
        ON CONFLICT (namespace, collection, key)
        DO UPDATE SET value = EXCLUDED.value, version = t.version + 1;
      v_state := true;
    WHEN 'delete' THEN
      DELETE FROM ${s}.entries WHERE namespace = p_ns AND collection = o->>'c' AND key = o->>'k';
      v_state := true;
    WHEN 'set-add' THEN
      INSERT INTO ${s}.set_members (namespace, name, member)
        SELECT DISTINCT p_ns, o->>'s', m FROM jsonb_array_elements_text(o->'m') AS m
        ON CONFLICT DO NOTHING;
      v_changed := array_append(v_changed, o->>'s');
      v_state := true;
    WHEN 'set-remove' THEN
      DELETE FROM ${s}.set_members WHERE namespace = p_ns AND name = o->>'s'
        AND member IN (SELECT jsonb_array_elements_text(o->'m'));
      v_changed := array_append(v_changed, o->>'s');
      v_state := true;
    WHEN 'set-clear' THEN
      DELETE FROM ${s}.set_members WHERE namespace = p_ns AND name = o->>'s';
      v_changed := array_append(v_changed, o->>'s');
      v_state := true;
    WHEN 'append' THEN
      INSERT INTO ${s}.logs (namespace, log, at, entry)
        VALUES (p_ns, o->>'l', (o->>'at')::double precision, p_values[(o->>'v')::int]);
      DELETE FROM ${s}.logs WHERE namespace = p_ns AND log = o->>'l' AND seq <= (
        SELECT seq FROM ${s}.logs WHERE namespace = p_ns AND log = o->>'l'
        ORDER BY seq DESC OFFSET (o->>'r')::int LIMIT 1);
    END CASE;
  END LOOP;
  INSERT INTO ${s}.sets AS t (namespace, name, version)
    SELECT DISTINCT p_ns, n, 1 FROM unnest(v_changed) AS n
    ON CONFLICT (namespace, name) DO UPDATE SET version = t.version + 1;
  -- Appends alone leave the state version: logs are not part of the state services follow. A
  -- quiet commit (no channel) changes nothing a snapshot is built from either.
  IF NOT v_state OR p_channel IS NULL THEN
    RETURN jsonb_build_object('version', v_version);
  END IF;
  v_version := v_version + 1;
  UPDATE ${s}.namespaces SET version = v_version WHERE namespace = p_ns;
  -- The payload is the version only: nothing a listener could learn about users.
  PERFORM pg_notify(p_channel, v_version::text);
  RETURN jsonb_build_object('version', v_version, 'changed', true);
END
$fn$;
`,
  // 2: a flush appends its rows to metric_deltas instead of merging them into metrics row by row
  // (the jsonb merge of bins and registers cost a flush about three times a plain upsert); the
  // deltas are folded into metrics in the background and merged on read until then.
  (s) => `
CREATE TABLE ${s}.metric_deltas (
  namespace text NOT NULL,
  bucket_start bigint NOT NULL,
  feature text NOT NULL,
  arm text NOT NULL,
  stage integer NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  calls bigint NOT NULL,
  successes bigint NOT NULL,
  failures bigint NOT NULL,
  latency_count bigint NOT NULL,
  latency_sum_ms double precision NOT NULL,
  histogram jsonb NOT NULL,
  users jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, bucket_start, feature, arm, stage, id)
);
`,
  // 3: a delta keeps its bins and registers as json, stored as sent: building jsonb from them was
  // most of the server's part of a flush, and a delta is read once, when folded.
  (s) => `
ALTER TABLE ${s}.metric_deltas
  ALTER COLUMN histogram TYPE json USING histogram::json,
  ALTER COLUMN users TYPE json USING users::json;
`,
];

/**
 * The revision of `commit_changes`, kept in the function's comment. The function changes apart
 * from the tables: a later revision answers all an earlier one did and more (revision 2: what each
 * set add or remove changed), so opening replaces an earlier one in place under the migration lock,
 * without a new schema version, and older versions of this package keep working on the schema.
 */
const COMMIT_REVISION = 2;

/** `commit_changes` at `COMMIT_REVISION`, with the comment that names it. */
function commitFunction(s: string): string {
  return `
-- One conditional, all-or-nothing commit in one statement: expectations are checked while the
-- namespace row is locked, which every commit of the namespace takes first. Returns the store
-- version and, per set add or remove, whether it changed the set (rows inserted or deleted).
CREATE OR REPLACE FUNCTION ${s}.commit_changes(p_ns text, p_channel text, p_expect jsonb, p_ops jsonb, p_values text[])
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_conflicts jsonb := '[]'::jsonb;
  v_changed text[] := '{}';
  v_state boolean := false;
  v_found bigint;
  v_rows integer;
  v_set_changes jsonb := '[]'::jsonb;
  v_i integer := 0;
  e jsonb;
  o jsonb;
BEGIN
  INSERT INTO ${s}.namespaces (namespace) VALUES (p_ns) ON CONFLICT (namespace) DO NOTHING;
  SELECT version INTO v_version FROM ${s}.namespaces WHERE namespace = p_ns FOR UPDATE;
  FOR e IN SELECT value FROM jsonb_array_elements(p_expect) LOOP
    IF e ? 's' THEN
      SELECT version INTO v_found FROM ${s}.sets WHERE namespace = p_ns AND name = e->>'s';
      v_found := coalesce(v_found, 0);
    ELSE
      v_found := NULL;
      SELECT version INTO v_found FROM ${s}.entries
        WHERE namespace = p_ns AND collection = e->>'c' AND key = e->>'k';
    END IF;
    IF v_found IS DISTINCT FROM (e->>'v')::bigint THEN
      v_conflicts := v_conflicts || jsonb_build_array(jsonb_build_array(v_i, v_found));
    END IF;
    v_i := v_i + 1;
  END LOOP;
  IF jsonb_array_length(v_conflicts) > 0 THEN
    RETURN jsonb_build_object('conflicts', v_conflicts);
  END IF;
  FOR o IN SELECT value FROM jsonb_array_elements(p_ops) LOOP
    CASE o->>'op'
    WHEN 'put' THEN
      INSERT INTO ${s}.entries AS t (namespace, collection, key, value, version)
        VALUES (p_ns, o->>'c', o->>'k', p_values[(o->>'v')::int], 1)
        ON CONFLICT (namespace, collection, key)
        DO UPDATE SET value = EXCLUDED.value, version = t.version + 1;
      v_state := true;
    WHEN 'delete' THEN
      DELETE FROM ${s}.entries WHERE namespace = p_ns AND collection = o->>'c' AND key = o->>'k';
      v_state := true;
    WHEN 'set-add' THEN
      INSERT INTO ${s}.set_members (namespace, name, member)
        SELECT DISTINCT p_ns, o->>'s', m FROM jsonb_array_elements_text(o->'m') AS m
        ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS v_rows = ROW_COUNT;
      v_set_changes := v_set_changes || to_jsonb(v_rows > 0);
      v_changed := array_append(v_changed, o->>'s');
      v_state := true;
    WHEN 'set-remove' THEN
      DELETE FROM ${s}.set_members WHERE namespace = p_ns AND name = o->>'s'
        AND member IN (SELECT jsonb_array_elements_text(o->'m'));
      GET DIAGNOSTICS v_rows = ROW_COUNT;
      v_set_changes := v_set_changes || to_jsonb(v_rows > 0);
      v_changed := array_append(v_changed, o->>'s');
      v_state := true;
    WHEN 'set-clear' THEN
      DELETE FROM ${s}.set_members WHERE namespace = p_ns AND name = o->>'s';
      v_changed := array_append(v_changed, o->>'s');
      v_state := true;
    WHEN 'append' THEN
      INSERT INTO ${s}.logs (namespace, log, at, entry)
        VALUES (p_ns, o->>'l', (o->>'at')::double precision, p_values[(o->>'v')::int]);
      DELETE FROM ${s}.logs WHERE namespace = p_ns AND log = o->>'l' AND seq <= (
        SELECT seq FROM ${s}.logs WHERE namespace = p_ns AND log = o->>'l'
        ORDER BY seq DESC OFFSET (o->>'r')::int LIMIT 1);
    END CASE;
  END LOOP;
  INSERT INTO ${s}.sets AS t (namespace, name, version)
    SELECT DISTINCT p_ns, n, 1 FROM unnest(v_changed) AS n
    ON CONFLICT (namespace, name) DO UPDATE SET version = t.version + 1;
  -- Appends alone leave the state version: logs are not part of the state services follow. A
  -- quiet commit (no channel) changes nothing a snapshot is built from either.
  IF NOT v_state OR p_channel IS NULL THEN
    RETURN jsonb_build_object('version', v_version, 'set_changes', v_set_changes);
  END IF;
  v_version := v_version + 1;
  UPDATE ${s}.namespaces SET version = v_version WHERE namespace = p_ns;
  -- The payload is the version only: nothing a listener could learn about users.
  PERFORM pg_notify(p_channel, v_version::text);
  RETURN jsonb_build_object('version', v_version, 'changed', true, 'set_changes', v_set_changes);
END
$fn$;
COMMENT ON FUNCTION ${s}.commit_changes(text, text, jsonb, jsonb, text[]) IS 'canary-rollout commit_changes revision ${COMMIT_REVISION}';
`;
}

/** Tables of every version, each an identifier: a schema holding others is not ours to use. */
const OWN_TABLES: ReadonlySet<string> = new Set([
  'schema_version',
  'namespaces',
  'entries',
  'sets',
  'set_members',
  'logs',
  'metrics',
  'metric_batches',
  'metric_deltas',
]);

/** A 64-bit advisory lock key per schema, so two schemas migrate independently. */
function lockKey(schema: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`${PRODUCT}:${schema}`)) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  }
  return BigInt.asIntN(64, hash).toString();
}

/**
 * Creates the schema or brings it to `SCHEMA_VERSION`, in one transaction under an advisory lock
 * (several processes opening at once migrate once). A schema at a newer version, or one holding
 * tables of another app, is refused and left as it was.
 */
export async function migrate(
  client: PoolClient,
  schema: string,
  namespace: string,
  timeoutMs: number,
): Promise<void> {
  const s = ident(schema);
  // Migrating may take longer than an ordinary statement: it is bounded by connectTimeoutMs.
  const query = <R extends QueryResultRow>(text: string, values?: unknown[]) =>
    client.query<R>({
      text,
      ...(values === undefined ? {} : { values }),
      query_timeout: timeoutMs,
    } as QueryConfig);
  await query('BEGIN');
  try {
    await query('SELECT set_config($1, $2, true)', ['statement_timeout', String(timeoutMs)]);
    await query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(schema)]);
    const tables = await query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')`,
      [schema],
    );
    const names = tables.rows.map((r) => r.name);
    let current = 0;
    if (names.includes('schema_version')) {
      const row = await query<{ product: string; version: number }>(
        `SELECT product, version FROM ${s}.schema_version`,
      );
      const mine = row.rows.find((r) => r.product === PRODUCT);
      if (mine === undefined) throw foreign(schema);
      current = mine.version;
    } else if (names.length > 0) {
      throw foreign(schema);
    }
    if (current > SCHEMA_VERSION) {
      throw new StoreUnavailableError(
        `${PKG}: schema "${schema}" is at version ${current}, newer than this version of the package understands (${SCHEMA_VERSION}); upgrade @canary-rollout/storage-postgres. The schema was left untouched.`,
      );
    }
    const strangers = names.filter((n) => !OWN_TABLES.has(n));
    if (strangers.length > 0) throw foreign(schema);
    if (current < SCHEMA_VERSION) {
      await query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      if (current === 0) {
        await query(
          `CREATE TABLE ${s}.schema_version (product text PRIMARY KEY, version integer NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())`,
        );
      }
      for (let step = current; step < SCHEMA_VERSION; step++) {
        const sql = MIGRATIONS[step];
        if (sql !== undefined) await query(sql(s));
      }
      await query(
        `INSERT INTO ${s}.schema_version (product, version) VALUES ($1, $2)
         ON CONFLICT (product) DO UPDATE SET version = EXCLUDED.version, migrated_at = now()`,
        [PRODUCT, SCHEMA_VERSION],
      );
    }
    const described = await query<{ comment: string | null }>(
      `SELECT obj_description(p.oid, 'pg_proc') AS comment FROM pg_proc p
       JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = 'commit_changes'`,
      [schema],
    );
    const revision = Number(/revision (\d+)$/.exec(described.rows[0]?.comment ?? '')?.[1] ?? 1);
    if (revision < COMMIT_REVISION) await query(commitFunction(s));
    await query(`INSERT INTO ${s}.namespaces (namespace) VALUES ($1) ON CONFLICT DO NOTHING`, [namespace]);
    await query('COMMIT');
  } catch (error) {
    await query('ROLLBACK').catch(() => {});
    throw error;
  }
}

function foreign(schema: string): StoreUnavailableError {
  return new StoreUnavailableError(
    `${PKG}: schema "${schema}" holds tables that are not canary-rollout's; choose another "schema" for the store. Nothing was changed.`,
  );
}
