import type { MetricBucket } from '@canary-rollout/core';
import { StoreDataCorruptedError, StoreUnavailableError } from '@canary-rollout/core';
import type { DriverCollection } from '@canary-rollout/core/store-kit';
import pg from 'pg';
import { afterEach, expect, it, onTestFinished, vi } from 'vitest';
import { PostgresDriver } from '../src/index';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/internal/schema';
import type { PostgresStoreOptions } from '../src/options';
import { describeWithPostgres, freshNamespace } from './helpers/pg-env';

function bucket(over: Partial<MetricBucket> = {}): MetricBucket {
  return {
    feature: 'search',
    arm: 'treatment',
    bucketStart: 60_000,
    calls: 1,
    successes: 1,
    failures: 0,
    latencyCount: 1,
    latencySumMs: 5,
    histogram: { '3': 1 },
    users: { '7': 2 },
    ...over,
  };
}

describeWithPostgres('PostgresDriver primitives', (db) => {
  const open: PostgresDriver[] = [];
  async function driver(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresDriver> {
    const d = new PostgresDriver({
      ...(options.pool === undefined ? { connectionString: db().url } : {}),
      namespace: 'primitives',
      pollIntervalMs: 0,
      ...options,
    });
    open.push(d);
    await d.open();
    return d;
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
  /** A schema as the migrations up to `layout` leave it, with its version row, opened by no driver yet. */
  async function schemaAtLayout(s: string, layout: number): Promise<void> {
    await db().admin.query(
      `CREATE SCHEMA ${s}; CREATE TABLE ${s}.schema_version (product text PRIMARY KEY, version integer NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (const step of MIGRATIONS.slice(0, layout)) await db().admin.query(step(s));
    await db().admin.query(
      `INSERT INTO ${s}.schema_version (product, version) VALUES ('canary-rollout', $1)`,
      [layout],
    );
  }

  it('creates the schema with a version row, once, when four handles open at the same time', async () => {
    const schema = 'race_open';
    await Promise.all([1, 2, 3, 4].map(() => driver({ schema })));
    const rows = await db().admin.query(`SELECT product, version FROM ${schema}.schema_version`);
    expect(rows.rows).toEqual([{ product: 'canary-rollout', version: SCHEMA_VERSION }]);
  });

  it('refuses a schema at a newer version and leaves it as it was', async () => {
    const schema = 'from_the_future';
    await (await driver({ schema })).close();
    await db().admin.query(`UPDATE ${schema}.schema_version SET version = 99`);
    await db().admin.query(
      `INSERT INTO ${schema}.entries (namespace, collection, key, value, version) VALUES ('x', 'features', 'a', '{}', 1)`,
    );
    const newer = new PostgresDriver({ connectionString: db().url, schema, pollIntervalMs: 0 });
    await expect(newer.open()).rejects.toThrow(
      new RegExp(`version 99, newer than .* \\(${SCHEMA_VERSION}\\).*left untouched`),
    );
    const after = await db().admin.query(`SELECT version FROM ${schema}.schema_version`);
    expect(after.rows).toEqual([{ version: 99 }]);
    expect((await db().admin.query(`SELECT count(*)::int AS n FROM ${schema}.entries`)).rows[0]).toEqual({
      n: 1,
    });
  });

  it("refuses a schema holding another app's tables and creates nothing in it", async () => {
    await db().admin.query('CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int)');
    const d = new PostgresDriver({ connectionString: db().url, schema: 'billing', pollIntervalMs: 0 });
    await expect(d.open()).rejects.toThrow(/schema "billing" holds tables that are not canary-rollout's/);
    const tables = await db().admin.query(
      `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'billing' AND relkind = 'r'`,
    );
    expect(tables.rows).toEqual([{ relname: 'invoices' }]);
  });

  it('commits all or nothing, bumps versions and reports the conflicts it found', async () => {
    const d = await driver({ namespace: freshNamespace() });
    const first = await d.commit({
      expect: [{ collection: 'features', key: 'a', version: null }],
      operations: [
        { op: 'put', collection: 'features', key: 'a', value: { name: 'a', n: 1 } },
        { op: 'set-add', set: 'beta:a', members: ['u1', 'u2', 'u1'] },
      ],
    });
    expect(first).toEqual({ committed: true, version: 1 });
    const lost = await d.commit({
      expect: [
        { collection: 'features', key: 'a', version: null },
        { set: 'beta:a', version: 1 },
      ],
      operations: [{ op: 'put', collection: 'features', key: 'a', value: { name: 'a', n: 2 } }],
    });
    expect(lost).toEqual({
      committed: false,
      conflicts: [{ collection: 'features', key: 'a', version: null, found: 1 }],
    });
    const snap = await d.read({
      collections: ['features'],
      sets: ['blacklist'],
      setPrefixes: ['beta:'],
    });
    expect(snap.version).toBe(1);
    expect(snap.collections.features).toEqual([{ key: 'a', value: { name: 'a', n: 1 }, version: 1 }]);
    expect(snap.sets).toEqual({
      blacklist: { members: [], version: 0 },
      'beta:a': { members: ['u1', 'u2'], version: 1 },
    });
    await d.commit({ operations: [{ op: 'set-clear', set: 'beta:a' }] });
    const cleared = await d.read({ sets: ['beta:a'] });
    expect(cleared.sets['beta:a']).toEqual({ members: [], version: 2 });
    expect(await d.get('features', ['b', 'a'])).toEqual([
      undefined,
      { key: 'a', value: { name: 'a', n: 1 }, version: 1 },
    ]);
  });

  it('stores any collection name as data', async () => {
    const d = await driver({ namespace: freshNamespace() });
    // A collection this version of the contract does not list: the driver needs no change for it.
    const segments = 'segments' as DriverCollection;
    await d.commit({ operations: [{ op: 'put', collection: segments, key: 'eu', value: { rules: [] } }] });
    expect((await d.read({ collections: [segments] })).collections[segments]).toEqual([
      { key: 'eu', value: { rules: [] }, version: 1 },
    ]);
  });

  it('keeps the newest entries of a log and reads only what since and limit select', async () => {
    const d = await driver({ namespace: freshNamespace() });
    for (let i = 1; i <= 6; i++) {
      await d.commit({ operations: [{ op: 'append', log: 'alerts', at: i * 10, entry: { i }, retain: 4 }] });
    }
    expect(await d.readLog('alerts')).toEqual([{ i: 3 }, { i: 4 }, { i: 5 }, { i: 6 }]);
    expect(await d.readLog('alerts', { limit: 2 })).toEqual([{ i: 5 }, { i: 6 }]);
    expect(await d.readLog('alerts', { since: 50 })).toEqual([{ i: 5 }, { i: 6 }]);
    expect(await d.readLog('alerts', { since: 40, limit: 1 })).toEqual([{ i: 6 }]);
    expect(await d.readLog('audit')).toEqual([]);
  });

  it('adds metrics once per batch, sums saturating and takes the maximum of registers', async () => {
    const d = await driver({ namespace: freshNamespace() });
    const big = Number.MAX_SAFE_INTEGER - 1;
    await d.addMetrics([bucket({ calls: big, histogram: { '3': big }, latencySumMs: Number.MAX_VALUE })], {
      writer: 'w',
      seq: 1,
    });
    await d.addMetrics([bucket({ users: { '7': 1, '8': 5 } }), bucket({ arm: 'control' })], {
      writer: 'w',
      seq: 2,
    });
    // Sent again (the outcome was unknown to the writer): applied once.
    await d.addMetrics([bucket({ users: { '7': 1, '8': 5 } }), bucket({ arm: 'control' })], {
      writer: 'w',
      seq: 2,
    });
    await d.addMetrics([bucket({ calls: 1000 })], { writer: 'w', seq: 1 });
    const read = await d.readMetrics(0);
    expect(read).toEqual([
      bucket({ arm: 'control' }),
      bucket({
        calls: Number.MAX_SAFE_INTEGER,
        successes: 2,
        latencyCount: 2,
        latencySumMs: Number.MAX_VALUE,
        histogram: { '3': Number.MAX_SAFE_INTEGER },
        users: { '7': 2, '8': 5 },
      }),
    ]);
    expect((await d.readMetrics(0, ['other'])).length).toBe(0);
    expect((await d.readMetrics(0, ['search'], { users: false }))[0]?.users).toEqual({});
    expect(await d.readMetrics(120_000)).toEqual([]);
  });

  it('forgets metric buckets metricsRetentionMs after their last write, and deletes them', async () => {
    const namespace = freshNamespace();
    const d = await driver({ namespace, metricsRetentionMs: 200 });
    await d.addMetrics([bucket()], { writer: 'old', seq: 1 });
    expect(await d.readMetrics(0)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(await d.readMetrics(0)).toEqual([]);
    await d.pruneExpired();
    const left = await db().admin.query(
      `SELECT (SELECT count(*) FROM canary_rollout.metrics WHERE namespace = $1)::int AS buckets,
              (SELECT count(*) FROM canary_rollout.metric_deltas WHERE namespace = $1)::int AS deltas,
              (SELECT count(*) FROM canary_rollout.metric_batches WHERE namespace = $1)::int AS batches`,
      [namespace],
    );
    expect(left.rows[0]).toEqual({ buckets: 0, deltas: 0, batches: 0 });
  });

  it('reads the same buckets before and after the flushed rows are folded, two handles folding at once', async () => {
    const namespace = freshNamespace();
    const [a, b] = [await driver({ namespace }), await driver({ namespace })];
    const big = Number.MAX_SAFE_INTEGER - 1;
    await a.addMetrics([bucket({ calls: big, histogram: { '3': big }, latencySumMs: Number.MAX_VALUE })], {
      writer: 'a',
      seq: 1,
    });
    await a.addMetrics([bucket({ users: { '7': 1, '8': 5 } }), bucket({ arm: 'control' })], {
      writer: 'a',
      seq: 2,
    });
    await b.addMetrics([bucket({ users: { '9': 3 }, histogram: { '3': 2, '4': 1 } }), bucket({ stage: 2 })], {
      writer: 'b',
      seq: 1,
    });
    const expected = [
      bucket({ arm: 'control' }),
      bucket({
        calls: Number.MAX_SAFE_INTEGER,
        successes: 3,
        latencyCount: 3,
        latencySumMs: Number.MAX_VALUE,
        histogram: { '3': Number.MAX_SAFE_INTEGER, '4': 1 },
        users: { '7': 2, '8': 5, '9': 3 },
      }),
      bucket({ stage: 2 }),
    ];
    expect(await a.readMetrics(0)).toEqual(expected);
    await Promise.all([a.foldMetrics(), b.foldMetrics()]);
    expect(await b.readMetrics(0)).toEqual(expected);
    const rows = async () =>
      (
        await db().admin.query(
          `SELECT (SELECT count(*) FROM canary_rollout.metrics WHERE namespace = $1)::int AS folded,
                  (SELECT count(*) FROM canary_rollout.metric_deltas WHERE namespace = $1)::int AS deltas`,
          [namespace],
        )
      ).rows[0];
    expect(await rows()).toEqual({ folded: 3, deltas: 0 });
    // Sent again after the fold: still applied once. A new batch adds onto the folded rows.
    await a.addMetrics([bucket({ arm: 'control' })], { writer: 'a', seq: 2 });
    await b.addMetrics([bucket({ arm: 'control', users: { '1': 9 } })], { writer: 'b', seq: 2 });
    const next = [
      bucket({
        arm: 'control',
        calls: 2,
        successes: 2,
        latencyCount: 2,
        latencySumMs: 10,
        histogram: { '3': 2 },
        users: { '1': 9, '7': 2 },
      }),
      expected[1],
      expected[2],
    ];
    expect(await a.readMetrics(0)).toEqual(next);
    expect(await a.readMetrics(0, ['search'], { users: false })).toEqual(
      next.map((m) => ({ ...m, users: {} })),
    );
    await a.foldMetrics();
    expect(await rows()).toEqual({ folded: 3, deltas: 0 });
    expect(await b.readMetrics(0)).toEqual(next);
  });

  it('folds more deltas than one transaction takes, all of them, in one call', async () => {
    const namespace = freshNamespace();
    const d = await driver({ namespace });
    const many = Array.from({ length: 6000 }, (_, i) =>
      bucket({ bucketStart: (i % 3000) * 60_000, calls: i + 1 }),
    );
    await d.addMetrics(many, { writer: 'w', seq: 1 });
    const before = await d.readMetrics(0, undefined, { users: false });
    expect(before).toHaveLength(3000);
    expect(before[1]?.calls).toBe(2 + 3002);
    await d.foldMetrics();
    const left = await db().admin.query(
      'SELECT count(*)::int AS n FROM canary_rollout.metric_deltas WHERE namespace = $1',
      [namespace],
    );
    expect(left.rows[0]).toEqual({ n: 0 });
    expect(await d.readMetrics(0, undefined, { users: false })).toEqual(before);
  });

  it('says when folding flushed metrics starts failing, once until it works again, and keeps them readable', async () => {
    const schema = 'fold_warning';
    const namespace = freshNamespace();
    const warnings: string[] = [];
    const d = await driver({ schema, namespace, onWarning: (message) => warnings.push(message) });
    const refuse = `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${schema}.metrics
      FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`;
    await db().admin.query(
      `CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$`,
    );
    await db().admin.query(refuse);
    const unfolded = async () =>
      (
        await db().admin.query(
          `SELECT count(*)::int AS n FROM ${schema}.metric_deltas WHERE namespace = $1`,
          [namespace],
        )
      ).rows[0].n as number;

    await d.addMetrics([bucket()], { writer: 'w', seq: 1 });
    await vi.waitFor(() => expect(warnings).toHaveLength(1), { timeout: 15_000, interval: 50 });
    expect(warnings[0]).toMatch(
      /foldMetrics failed: PostgreSQL .*SQLSTATE P0001.*retried, reads merge the unfolded metrics/,
    );
    expect(await d.readMetrics(0)).toEqual([bucket()]);

    await d.addMetrics([bucket()], { writer: 'w', seq: 2 });
    await db().admin.query(`DROP TRIGGER refuse ON ${schema}.metrics`);
    await vi.waitFor(async () => expect(await unfolded()).toBe(0), { timeout: 15_000, interval: 50 });
    expect(warnings).toHaveLength(1);
    expect(await d.readMetrics(0)).toEqual([
      bucket({ calls: 2, successes: 2, latencyCount: 2, latencySumMs: 10, histogram: { '3': 2 } }),
    ]);

    await db().admin.query(refuse);
    await d.addMetrics([bucket()], { writer: 'w', seq: 3 });
    await vi.waitFor(() => expect(warnings).toHaveLength(2), { timeout: 15_000, interval: 50 });
  });

  it('keeps folding when the warning receiver throws (no unhandled rejection)', async () => {
    const schema = 'fold_warning_throws';
    const namespace = freshNamespace();
    let called = 0;
    const d = await driver({
      schema,
      namespace,
      onWarning: () => {
        called++;
        throw new Error('receiver failed');
      },
    });
    await db().admin.query(
      `CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$`,
    );
    await db().admin.query(
      `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${schema}.metrics FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`,
    );
    await d.addMetrics([bucket()], { writer: 'w', seq: 1 });
    await vi.waitFor(() => expect(called).toBe(1), { timeout: 15_000, interval: 50 });
    await db().admin.query(`DROP TRIGGER refuse ON ${schema}.metrics`);
    await d.foldMetrics();
    expect(await d.readMetrics(0)).toEqual([bucket()]);
  });

  it('keeps the older part of a bucket that was written again, as its last write is new', async () => {
    const namespace = freshNamespace();
    const d = await driver({ namespace, metricsRetentionMs: 60_000 });
    await d.addMetrics([bucket()], { writer: 'w', seq: 1 });
    await d.foldMetrics();
    await db().admin.query(
      `UPDATE canary_rollout.metrics SET updated_at = now() - interval '1 hour' WHERE namespace = $1`,
      [namespace],
    );
    expect(await d.readMetrics(0)).toEqual([]);
    await d.addMetrics([bucket({ users: { '7': 4 } })], { writer: 'w', seq: 2 });
    const both = [
      bucket({
        calls: 2,
        successes: 2,
        latencyCount: 2,
        latencySumMs: 10,
        histogram: { '3': 2 },
        users: { '7': 4 },
      }),
    ];
    expect(await d.readMetrics(0)).toEqual(both);
    await d.pruneExpired();
    expect(await d.readMetrics(0)).toEqual(both);
  });

  it('replaces a commit function of an earlier revision in place, at the same schema version, and it then reports set changes', async () => {
    const schema = 'commit_revision_1';
    const s = `"${schema}"`;
    // What the current layout looked like before commits reported set changes.
    await schemaAtLayout(s, SCHEMA_VERSION);
    const comment = async () =>
      (
        await db().admin.query(
          `SELECT obj_description(p.oid, 'pg_proc') AS c FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = $1 AND p.proname = 'commit_changes'`,
          [schema],
        )
      ).rows;
    expect(await comment()).toEqual([{ c: null }]);
    const [a, b] = await Promise.all([driver({ schema }), driver({ schema })]);
    expect(await comment()).toEqual([{ c: 'canary-rollout commit_changes revision 2' }]);
    expect((await db().admin.query(`SELECT version FROM ${s}.schema_version`)).rows).toEqual([
      { version: SCHEMA_VERSION },
    ]);
    const add = {
      reportSetChanges: true,
      operations: [{ op: 'set-add' as const, set: 'blacklist' as const, members: ['u'] }],
    };
    expect(await a!.commit(add)).toMatchObject({ committed: true, setChanges: [true] });
    expect(await b!.commit(add)).toMatchObject({ committed: true, setChanges: [false] });
    // A commit that does not ask gets the answer it always got.
    expect(await a!.commit({ operations: add.operations })).toEqual({ committed: true, version: 3 });
  });

  it('brings a schema of version 1 to the current version and keeps its buckets and batch numbers', async () => {
    const schema = 'from_version_1';
    const namespace = freshNamespace();
    const s = `"${schema}"`;
    await schemaAtLayout(s, 1);
    // What version 1 left: a bucket merged in place and the last batch number of its writer.
    await db().admin.query(
      `INSERT INTO ${s}.metrics (namespace, feature, arm, stage, bucket_start, calls, successes, failures,
         latency_count, latency_sum_ms, histogram, users)
       VALUES ($1, 'search', 'treatment', 0, 60000, 4, 3, 1, 4, 20, '{"3": 4}', '{"7": 2, "9": 1}')`,
      [namespace],
    );
    await db().admin.query(`INSERT INTO ${s}.metric_batches (namespace, writer, seq) VALUES ($1, 'w', 5)`, [
      namespace,
    ]);
    const d = await driver({ schema, namespace });
    expect((await db().admin.query(`SELECT product, version FROM ${s}.schema_version`)).rows).toEqual([
      { product: 'canary-rollout', version: SCHEMA_VERSION },
    ]);
    const kept = bucket({
      calls: 4,
      successes: 3,
      failures: 1,
      latencyCount: 4,
      latencySumMs: 20,
      histogram: { '3': 4 },
      users: { '7': 2, '9': 1 },
    });
    expect(await d.readMetrics(0)).toEqual([kept]);
    await d.addMetrics([bucket()], { writer: 'w', seq: 5 });
    expect(await d.readMetrics(0)).toEqual([kept]);
    await d.addMetrics([bucket({ users: { '9': 4 } })], { writer: 'w', seq: 6 });
    await d.foldMetrics();
    expect(await d.readMetrics(0)).toEqual([
      bucket({
        calls: 5,
        successes: 4,
        failures: 1,
        latencyCount: 5,
        latencySumMs: 25,
        histogram: { '3': 5 },
        users: { '7': 2, '9': 4 },
      }),
    ]);
  });

  it('brings a schema of version 2 to version 3 and keeps the deltas not yet folded', async () => {
    const schema = 'from_version_2';
    const namespace = freshNamespace();
    const s = `"${schema}"`;
    await schemaAtLayout(s, 2);
    // A delta as version 2 stored it (maps as jsonb), written before the upgrade and not folded.
    await db().admin.query(
      `INSERT INTO ${s}.metric_deltas (namespace, feature, arm, stage, bucket_start, calls, successes, failures,
         latency_count, latency_sum_ms, histogram, users)
       VALUES ($1, 'search', 'treatment', 0, 60000, 4, 3, 1, 4, 20, '{"3": 4}', '{"7": 2, "9": 1}')`,
      [namespace],
    );
    const d = await driver({ schema, namespace });
    const types = await db().admin.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'metric_deltas' AND column_name IN ('histogram', 'users')
       ORDER BY column_name`,
      [schema],
    );
    expect(types.rows).toEqual([
      { column_name: 'histogram', data_type: 'json' },
      { column_name: 'users', data_type: 'json' },
    ]);
    const kept = bucket({
      calls: 4,
      successes: 3,
      failures: 1,
      latencyCount: 4,
      latencySumMs: 20,
      histogram: { '3': 4 },
      users: { '7': 2, '9': 1 },
    });
    expect(await d.readMetrics(0)).toEqual([kept]);
    await d.addMetrics([bucket({ histogram: { '3': 1, '12': 2 }, users: { '9': 4 } })]);
    const merged = bucket({
      calls: 5,
      successes: 4,
      failures: 1,
      latencyCount: 5,
      latencySumMs: 25,
      histogram: { '3': 5, '12': 2 },
      users: { '7': 2, '9': 4 },
    });
    expect(await d.readMetrics(0)).toEqual([merged]);
    await d.foldMetrics();
    expect(await d.readMetrics(0)).toEqual([merged]);
  });

  it('sends one statement per flush of 100 features', async () => {
    const pool = new pg.Pool({ connectionString: db().url, max: 2 });
    pool.on('error', () => {});
    onTestFinished(() => pool.end().catch(() => {}));
    const statements: string[] = [];
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const first = args[0];
        statements.push(typeof first === 'string' ? first : String((first as { text: string }).text));
        return query(...args);
      };
    });
    const d = await driver({ pool, namespace: freshNamespace() });
    statements.length = 0;
    const deltas = Array.from({ length: 100 }, (_, i) => bucket({ feature: `f${i}` }));
    await d.addMetrics(deltas, { writer: 'one', seq: 1 });
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/INSERT INTO .*ON CONFLICT .* DO UPDATE/s);
    expect(await d.readMetrics(0)).toHaveLength(100);
    await d.close();
    // The app's pool is the app's: still usable after the store closed.
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('tells other handles of a commit with a notification naming the version only', async () => {
    const namespace = freshNamespace();
    const a = await driver({ namespace });
    const b = await driver({ namespace });
    const listener = new pg.Client({ connectionString: db().url });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (m) => payloads.push(`${m.channel} ${m.payload ?? ''}`));
    await listener.query(`LISTEN "${a.channel}"`);
    const heard: unknown[] = [];
    b.subscribe((change) => heard.push(change));
    const own: unknown[] = [];
    a.subscribe((change) => own.push(change));
    const result = await a.commit({
      operations: [{ op: 'put', collection: 'users', key: 'u1', value: { email: 'ann@example.com' } }],
    });
    await expect
      .poll(() => heard, { timeout: 5000 })
      .toEqual([{ version: result.committed ? result.version : -1 }]);
    await expect.poll(() => payloads.length, { timeout: 5000 }).toBe(1);
    expect(payloads[0]).toMatch(/^canary_rollout_[0-9a-f]{32} \d+$/);
    expect(own).toEqual([]);
    await listener.end();
  });

  it('reports a value that is not JSON as corrupted without quoting it', async () => {
    const namespace = freshNamespace();
    const d = await driver({ namespace });
    await d.commit({ operations: [{ op: 'put', collection: 'users', key: 'u1', value: { email: 'x' } }] });
    await db().admin.query(
      `UPDATE canary_rollout.entries SET value = '{"email":"secret@example.com"' WHERE namespace = $1`,
      [namespace],
    );
    const failure = await d.read({ collections: ['users'] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreDataCorruptedError);
    expect(String((failure as Error).message)).not.toContain('secret');
    expect((failure as Error).cause).toBeUndefined();
  });

  it('fails open within connectTimeoutMs and shows no password', async () => {
    const d = new PostgresDriver({
      connectionString: 'postgres://postgres:hunter2@127.0.0.1:1/none',
      connectTimeoutMs: 500,
      pollIntervalMs: 0,
    });
    const started = Date.now();
    const failure = await d.open().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(String((failure as Error).message)).toContain('postgres://postgres:***@127.0.0.1:1/none');
    expect(String((failure as Error).message)).not.toContain('hunter2');
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(d.read({})).rejects.toThrow(/not open/);
  });
});
