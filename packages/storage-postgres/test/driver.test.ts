import type { MetricBucket } from '@canary-rollout/core';
import { StoreDataCorruptedError, StoreUnavailableError } from '@canary-rollout/core';
import type { DriverCollection } from '@canary-rollout/core/store-kit';
import pg from 'pg';
import { afterEach, expect, it, onTestFinished } from 'vitest';
import { PostgresDriver } from '../src/index';
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

  it('creates the schema with a version row, once, when four handles open at the same time', async () => {
    const schema = 'race_open';
    await Promise.all([1, 2, 3, 4].map(() => driver({ schema })));
    const rows = await db().admin.query(`SELECT product, version FROM ${schema}.schema_version`);
    expect(rows.rows).toEqual([{ product: 'canary-rollout', version: 2 }]);
  });

  it('refuses a schema at a newer version and leaves it as it was', async () => {
    const schema = 'from_the_future';
    await (await driver({ schema })).close();
    await db().admin.query(`UPDATE ${schema}.schema_version SET version = 99`);
    await db().admin.query(
      `INSERT INTO ${schema}.entries (namespace, collection, key, value, version) VALUES ('x', 'features', 'a', '{}', 1)`,
    );
    const newer = new PostgresDriver({ connectionString: db().url, schema, pollIntervalMs: 0 });
    await expect(newer.open()).rejects.toThrow(/version 99, newer than .* \(2\).*left untouched/);
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
              (SELECT count(*) FROM canary_rollout.metric_batches WHERE namespace = $1)::int AS batches`,
      [namespace],
    );
    expect(left.rows[0]).toEqual({ buckets: 0, batches: 0 });
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
