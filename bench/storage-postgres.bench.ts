/**
 * PostgresStore on the loopback PostgreSQL (PGHOST/PGPORT, user postgres), in a database of its
 * own created for the run and dropped after it, with baselines measured in the same run:
 * - flush of 100 features (200 buckets): statements per flush (counted on the pool) and time,
 *   against the same rows sent as one bare `pg` multi-row upsert and against `SELECT 1`;
 * - an administrative write (`addToBlacklist`, `putFeature`): statements and time;
 * - change propagation to another handle and to another process, against a bare NOTIFY ->
 *   notification between two `pg` clients;
 * - evaluation throughput of CanaryRolloutService with a PostgresStore attached against a
 *   MemoryStore (the hot path does no I/O, so they should match).
 * Interleaved rounds and medians: the machines are shared and noisy.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from '@canary-rollout/core';
import { createRolloutStore, type RolloutDriver } from '@canary-rollout/core/store-kit';
import { PostgresStore } from '@canary-rollout/storage-postgres';
import pg from 'pg';
import { createDatabase, dropDatabase } from '../packages/storage-postgres/test/helpers/pg-env';
import { feature } from '../packages/storage-redis/test/helpers/data';
import { evaluationAgainstMemory, FLUSH, median, now, pct, sleep } from './internal/store-case';

/** A pool that counts the statements sent on it. */
function countingPool(url: string): { pool: pg.Pool; statements: () => number } {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  let sent = 0;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      sent++;
      return query(...args);
    };
  });
  return { pool, statements: () => sent };
}

async function flushCost(url: string): Promise<void> {
  const counted = countingPool(url);
  const store = new PostgresStore({ pool: counted.pool, namespace: 'bench-flush', pollIntervalMs: 0 });
  await store.open();
  const bare = new pg.Pool({ connectionString: url, max: 1 });
  // The same columns, a plain table: what an app would write by hand.
  await bare.query(`CREATE TABLE bare_metrics (feature text, arm text, stage integer, bucket_start bigint,
    calls bigint, successes bigint, failures bigint, latency_count bigint, latency_sum_ms double precision,
    histogram jsonb, users jsonb, PRIMARY KEY (bucket_start, feature, arm, stage))`);
  const columns = 11;
  const placeholders = FLUSH.map(
    (_, r) => `(${Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`).join(', ')})`,
  ).join(', ');
  const bareSql = `INSERT INTO bare_metrics AS m VALUES ${placeholders}
    ON CONFLICT (bucket_start, feature, arm, stage) DO UPDATE SET calls = m.calls + EXCLUDED.calls,
    successes = m.successes + EXCLUDED.successes, failures = m.failures + EXCLUDED.failures,
    latency_count = m.latency_count + EXCLUDED.latency_count, latency_sum_ms = m.latency_sum_ms + EXCLUDED.latency_sum_ms,
    histogram = EXCLUDED.histogram, users = EXCLUDED.users`;
  const bareRows = () =>
    FLUSH.flatMap((b) => [
      b.feature,
      b.arm,
      0,
      b.bucketStart,
      b.calls,
      b.successes,
      b.failures,
      b.latencyCount,
      b.latencySumMs,
      JSON.stringify(b.histogram),
      JSON.stringify(b.users),
    ]);
  const bareValues = bareRows();
  const bareFlush = () => bare.query(bareSql, bareValues);
  // The same, building its values from the buckets each time, as an app flushing by hand must
  // (the baseline above has them built once): a reference, the target stays on the one above.
  const encodedFlush = () => bare.query(bareSql, bareRows());
  // The same, keeping the stored maps (jsonb ||, the last value of a key wins): no sum, no maximum.
  const keepSql = bareSql.replace(
    'histogram = EXCLUDED.histogram, users = EXCLUDED.users',
    'histogram = m.histogram || EXCLUDED.histogram, users = m.users || EXCLUDED.users',
  );
  const keepFlush = () => bare.query(keepSql, bareValues);
  // The same, merging the maps as the store's data must be merged (bins summed, registers by
  // maximum): what a hand-written flush needs to be correct. Still no batch claim.
  const mergeMap = (column: string, combine: string) =>
    `${column} = COALESCE((SELECT jsonb_object_agg(k, ${combine}) FROM (SELECT jsonb_object_keys(m.${column})
      UNION SELECT jsonb_object_keys(EXCLUDED.${column})) AS keys(k)), '{}')`;
  const mergeSql = bareSql.replace(
    'histogram = EXCLUDED.histogram, users = EXCLUDED.users',
    `${mergeMap('histogram', 'COALESCE((m.histogram->>k)::bigint, 0) + COALESCE((EXCLUDED.histogram->>k)::bigint, 0)')},
     ${mergeMap('users', 'GREATEST(COALESCE((m.users->>k)::int, 0), COALESCE((EXCLUDED.users->>k)::int, 0))')}`,
  );
  const mergeFlush = () => bare.query(mergeSql, bareValues);
  let seq = 0;
  const storeFlush = () => store.addMetrics(FLUSH, { writer: 'bench', seq: ++seq });
  // Rows exist from here on: every measured flush takes the update path.
  await storeFlush();
  await bareFlush();

  const FLUSHES = 10;
  const WARMUP = 3;
  const ROUNDS = 21;
  const before = counted.statements();
  for (let i = 0; i < FLUSHES; i++) await storeFlush();
  const perFlush = (counted.statements() - before) / FLUSHES;

  const memory = new MemoryStore();
  let memorySeq = 0;
  // Core's part of a flush alone (the argument checks every store runs) over a driver that does
  // nothing; the MemoryStore line adds the memory driver's merge.
  const idle = { addMetrics: async () => {} } as Pick<RolloutDriver, 'addMetrics'>;
  const checks = createRolloutStore(idle as RolloutDriver, { name: 'bench' });
  let checksSeq = 0;
  // The cases that write to the database, compared in the same rounds.
  const cases = {
    store: storeFlush,
    bare: bareFlush,
    keep: keepFlush,
    merge: mergeFlush,
    encoded: encodedFlush,
  };
  // In-process references, measured in rounds of their own: between the database cases, the
  // MemoryStore's garbage was collected in whichever case allocated next, mostly the store's
  // (its median rose by a third with them, the baselines' did not).
  const references = {
    memory: () => memory.addMetrics(FLUSH, { writer: 'bench', seq: ++memorySeq }),
    checks: () => checks.addMetrics(FLUSH, { writer: 'bench', seq: ++checksSeq }),
  };
  const samples = {
    ...(Object.fromEntries(Object.keys(cases).map((n) => [n, [] as number[]])) as Record<
      keyof typeof cases,
      number[]
    >),
    ...(Object.fromEntries(Object.keys(references).map((n) => [n, [] as number[]])) as Record<
      keyof typeof references,
      number[]
    >),
  };
  const ping: number[] = [];
  // Warm-up rounds, unmeasured, the same for every case (the store's code had already run eleven
  // times above, the others once). Then each round starts one case later: no case always runs
  // right after another or always first after the SELECT 1 round trips.
  const rotate = async (group: Record<string, () => Promise<unknown>>, between?: () => Promise<void>) => {
    const names = Object.keys(group);
    for (let round = -WARMUP; round < ROUNDS; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + Math.max(round, 0)) % names.length]!;
        const t = performance.now();
        await group[name]!();
        if (round >= 0) samples[name as keyof typeof samples].push(performance.now() - t);
      }
      if (round >= 0) await between?.();
    }
  };
  await rotate(cases, async () => {
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await bare.query('SELECT 1');
      ping.push(performance.now() - t);
    }
  });
  await rotate(references);
  console.log(`flush of 100 features (${FLUSH.length} buckets, 20 bins and 64 registers each):`);
  console.log(`  PostgresStore.addMetrics statements per flush  ${perFlush.toFixed(2)}`);
  console.log(
    `  PostgresStore.addMetrics time per flush        ${median(samples.store).toFixed(2)} ms (median of ${ROUNDS})`,
  );
  console.log(
    `  baseline: bare pg multi-row upsert, same rows  ${median(samples.bare).toFixed(2)} ms (1 statement; maps replaced, not merged; no batch claim)`,
  );
  console.log(`  reference: the same, values built per flush    ${median(samples.encoded).toFixed(2)} ms`);
  console.log(
    `  baseline: SELECT 1 round trip                  ${median(ping).toFixed(3)} ms (median of ${ping.length})`,
  );
  console.log(
    `  reference: MemoryStore.addMetrics (core's checks, the memory driver's merge) ${median(samples.memory).toFixed(2)} ms`,
  );
  console.log(
    `  reference: core's checks alone (a driver doing nothing) ${median(samples.checks).toFixed(2)} ms`,
  );
  console.log(
    `  store / bare upsert                            ${(median(samples.store) / median(samples.bare)).toFixed(2)}x (target <= 1.3x)`,
  );
  console.log(
    `  store / bare upsert keeping the maps           ${(median(samples.store) / median(samples.keep)).toFixed(2)}x`,
  );
  console.log(
    `  store / bare upsert merging the maps (sum, max) ${(median(samples.store) / median(samples.merge)).toFixed(2)}x (${median(samples.merge).toFixed(2)} ms)`,
  );

  // An administrative write: statements (round trips) and time.
  await store.putFeature(feature({ name: 'admin' }), null);
  const admin = { blacklist: [] as number[], put: [] as number[] };
  let statements = { blacklist: 0, put: 0 };
  for (let i = 0; i < 30; i++) {
    let mark = counted.statements();
    let t = performance.now();
    await store.addToBlacklist(`user-${i}`);
    admin.blacklist.push(performance.now() - t);
    statements.blacklist += counted.statements() - mark;
    const current = (await store.readState()).features.find((f) => f.name === 'admin')!;
    const { version, ...write } = current;
    mark = counted.statements();
    t = performance.now();
    await store.putFeature({ ...write, rolloutPercentage: (i % 100) + 1 }, version);
    admin.put.push(performance.now() - t);
    statements.put += counted.statements() - mark;
  }
  statements = { blacklist: statements.blacklist / 30, put: statements.put / 30 };
  console.log('administrative write:');
  console.log(
    `  addToBlacklist                                 ${median(admin.blacklist).toFixed(2)} ms, ${statements.blacklist.toFixed(1)} statements`,
  );
  console.log(
    `  putFeature                                     ${median(admin.put).toFixed(2)} ms, ${statements.put.toFixed(1)} statements`,
  );
  await store.close();
  await counted.pool.end();
  await bare.end();
}

async function propagation(url: string): Promise<void> {
  const CHANGES = 200;
  const namespace = 'bench-changes';
  const writer = new PostgresStore({ connectionString: url, namespace, pollIntervalMs: 0 });
  const reader = new PostgresStore({ connectionString: url, namespace, pollIntervalMs: 0 });
  await writer.open();
  await reader.open();
  const arrivals = new Map<number, number>();
  reader.subscribe((change) => arrivals.set(change.version ?? -1, now()));
  const version = async () => (await writer.readState()).version;
  const inProcess: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const started = now();
    await writer.addToBlacklist(`user-${i}`);
    const v = await version();
    while (!arrivals.has(v)) await sleep(0);
    inProcess.push(arrivals.get(v)! - started);
  }

  // Baseline: NOTIFY on one bare connection, the notification on another.
  const listener = new pg.Client({ connectionString: url });
  const notifier = new pg.Client({ connectionString: url });
  await listener.connect();
  await notifier.connect();
  await listener.query('LISTEN bench_bare');
  let heard = 0;
  listener.on('notification', () => {
    heard = now();
  });
  const bare: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    heard = 0;
    const started = now();
    await notifier.query(`NOTIFY bench_bare, '${i}'`);
    while (heard === 0) await sleep(0);
    bare.push(heard - started);
  }
  await listener.end();
  await notifier.end();

  // Another process: the same store code in a child, reporting arrivals on stdout.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', url, namespace],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const childArrivals = new Map<number, number>();
  let childReady = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') childReady = true;
    const [v, at] = line.split(' ');
    if (at !== undefined) childArrivals.set(Number(v), Number(at));
  });
  while (!childReady) await sleep(5);
  const crossProcess: number[] = [];
  for (let i = 0; i < 100; i++) {
    const started = now();
    await writer.removeFromBlacklist(`user-${i}`);
    const v = await version();
    while (!childArrivals.has(v)) await sleep(0);
    crossProcess.push(childArrivals.get(v)! - started);
  }
  child.stdin!.end();
  await new Promise((resolve) => child.once('exit', resolve));

  const line = (label: string, values: number[]) =>
    console.log(
      `  ${label.padEnd(46)} p50 ${median(values).toFixed(2)} ms  p99 ${pct(values, 0.99).toFixed(2)} ms  max ${Math.max(...values).toFixed(2)} ms`,
    );
  console.log('change propagation (write call start -> listener called):');
  line(`two PostgresStore handles, one process (${CHANGES})`, inProcess);
  line('PostgresStore to another process (100)', crossProcess);
  line(`baseline: bare NOTIFY -> notification (${CHANGES})`, bare);
  console.log(
    `  target: p99 to another process < 100 ms       ${pct(crossProcess, 0.99) < 100 ? 'met' : 'NOT met'}`,
  );
  await writer.close();
  await reader.close();
}

async function evaluation(url: string): Promise<void> {
  const store = new PostgresStore({ connectionString: url, namespace: 'bench-eval' });
  await evaluationAgainstMemory('PostgresStore', store);
  await store.close();
}

// The second process of the propagation figure: this file with `child <url> <namespace>`.
if (process.argv[2] === 'child') {
  const [, , , url, namespace] = process.argv;
  const store = new PostgresStore({ connectionString: url!, namespace: namespace!, pollIntervalMs: 0 });
  await store.open();
  store.subscribe((change) => process.stdout.write(`${change.version} ${now()}\n`));
  process.stdout.write('ready\n');
  process.stdin.on('end', () => void store.close().then(() => process.exit(0)));
  process.stdin.resume();
} else {
  const db = await createDatabase();
  try {
    await flushCost(db.url);
    await propagation(db.url);
    await evaluation(db.url);
  } finally {
    await dropDatabase(db);
  }
}
