/**
 * SqliteStore against the same statements on a bare better-sqlite3 connection, in one run:
 * feature updates (putFeature compare-and-set) and metric flushes (addMetrics, 10 features per
 * batch). Store and bare run back to back in pairs, in alternating order, and the median of the
 * pairs' ratios is reported, since the machines are shared and noisy. Target: the store within
 * 1.5x of bare.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureRecord, MetricBucket } from '@canary-rollout/core';
import { SqliteStore } from '@canary-rollout/storage-sqlite';
import Database from 'better-sqlite3';

const ROUNDS = 15;
const UPDATES_PER_ROUND = 1500;
const FLUSHES_PER_ROUND = 150;
const FEATURES = 10;
const TARGET = 1.5;

const dir = mkdtempSync(join(tmpdir(), 'canary-sqlite-bench-'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

// Deterministic workload: the same batches for the store and for bare.
let seed = 42;
const rand = (max: number) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return Math.floor((seed / 2147483648) * max);
};
const BATCHES: MetricBucket[][] = Array.from({ length: 50 }, (_, b) =>
  Array.from({ length: FEATURES }, (_, f) => {
    const histogram: Record<string, number> = {};
    for (let i = 0; i < 30; i++) histogram[rand(256)] = 1 + rand(20);
    const users: Record<string, number> = {};
    for (let i = 0; i < 100; i++) users[rand(2048)] = 1 + rand(12);
    const calls = 100 + rand(100);
    return {
      feature: `feature${f}`,
      arm: 'treatment',
      bucketStart: 1_700_000_000_000 + (b % 5) * 60_000,
      calls,
      successes: calls - 3,
      failures: 3,
      latencyCount: calls,
      latencySumMs: calls * 120.5,
      histogram,
      users,
    };
  }),
);

function featureWrite(name: string) {
  return {
    name,
    enabled: true,
    rolloutPercentage: 10,
    rolloutStrategy: 'gradual' as const,
    salt: name,
    updatedAt: 1,
    stageStartedAt: 1,
  };
}

/** Store side. */
async function storeCase(path: string) {
  const store = new SqliteStore({ path, metricRetentionMs: Number.POSITIVE_INFINITY });
  await store.open();
  let feature: FeatureRecord = await store.putFeature(featureWrite('bench'), null);
  let batch = 0;
  return {
    async updates(n: number) {
      for (let i = 0; i < n; i++) {
        const { version, ...write } = feature;
        feature = await store.putFeature({ ...write, rolloutPercentage: i % 100, updatedAt: i }, version);
      }
    },
    async flushes(n: number) {
      for (let i = 0; i < n; i++) await store.addMetrics(BATCHES[batch++ % BATCHES.length]!);
    },
    close: () => store.close(),
  };
}

/** Bare side: the statements the store runs, with the pragmas it sets, and nothing else. */
async function bareCase(path: string) {
  // The schema comes from the store; from here on only the bare connection touches the file.
  const creator = new SqliteStore({ path });
  await creator.open();
  await creator.putFeature(featureWrite('bench'), null);
  await creator.close();

  const db = new Database(path, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const updateFeature = db.prepare<[number, string, string, number]>(
    "UPDATE entries SET version = ?, value = ? WHERE collection = 'features' AND key = ? AND version = ?",
  );
  const bump = db.prepare('UPDATE state SET version = version + 1 WHERE id = 1 RETURNING version').pluck();
  const merged = db
    .prepare<[string, string, number, number], [string, Buffer]>(
      'SELECT histogram, users FROM metric_buckets WHERE feature = ? AND arm = ? AND stage = ? AND bucket_start = ?',
    )
    .raw();
  const upsert = db.prepare(
    `INSERT INTO metric_buckets (feature, arm, stage, bucket_start, calls, successes, failures, latency_count,
       latency_sum_ms, histogram, users) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (feature, arm, stage, bucket_start) DO UPDATE SET
       calls = calls + excluded.calls, successes = successes + excluded.successes,
       failures = failures + excluded.failures, latency_count = latency_count + excluded.latency_count,
       latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
       histogram = excluded.histogram, users = excluded.users`,
  );
  const tx = db.transaction((fn: () => void) => fn());

  let record: FeatureRecord = { ...featureWrite('bench'), version: 1 };
  let batch = 0;
  const flush = (deltas: readonly MetricBucket[]) => {
    for (const d of deltas) {
      const row = merged.get(d.feature, d.arm, d.stage ?? 0, d.bucketStart);
      let histogram = d.histogram;
      let users: Buffer;
      if (row === undefined) {
        users = Buffer.alloc(2048);
      } else {
        histogram = JSON.parse(row[0]) as Record<string, number>;
        for (const bin in d.histogram) histogram[bin] = (histogram[bin] ?? 0) + d.histogram[bin]!;
        users = row[1];
      }
      for (const reg in d.users) {
        const index = Number(reg);
        if (d.users[reg]! > users[index]!) users[index] = d.users[reg]!;
      }
      upsert.run(
        d.feature,
        d.arm,
        d.stage ?? 0,
        d.bucketStart,
        d.calls,
        d.successes,
        d.failures,
        d.latencyCount,
        d.latencySumMs,
        JSON.stringify(histogram),
        users,
      );
    }
  };
  return {
    async updates(n: number) {
      for (let i = 0; i < n; i++) {
        const next = { ...record, rolloutPercentage: i % 100, updatedAt: i, version: record.version + 1 };
        const json = JSON.stringify(next);
        tx.immediate(() => {
          if (updateFeature.run(next.version, json, 'bench', record.version).changes !== 1) {
            throw new Error('lost the compare-and-set');
          }
          bump.get();
        });
        record = next;
      }
    },
    async flushes(n: number) {
      for (let i = 0; i < n; i++) {
        const deltas = BATCHES[batch++ % BATCHES.length]!;
        tx.immediate(() => flush(deltas));
      }
    },
    close: async () => {
      db.close();
    },
  };
}

type Case = Awaited<ReturnType<typeof storeCase>>;

async function opsPerSecond(run: (n: number) => Promise<void>, n: number): Promise<number> {
  gc();
  const start = process.hrtime.bigint();
  await run(n);
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  const store: Case = await storeCase(join(dir, 'store.db'));
  const bare: Case = await bareCase(join(dir, 'bare.db'));
  // Warm-up: JIT, page cache, and the metric rows exist before measuring.
  for (const c of [store, bare]) {
    await c.updates(500);
    await c.flushes(60);
  }
  const samples = {
    storeUpdates: [] as number[],
    bareUpdates: [] as number[],
    updateRatios: [] as number[],
    storeFlushes: [] as number[],
    bareFlushes: [] as number[],
    flushRatios: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Back-to-back pairs, in alternating order, see the same load on a shared machine.
    const storeFirst = round % 2 === 0;
    const pair = async (storeRun: () => Promise<number>, bareRun: () => Promise<number>) => {
      const first = await (storeFirst ? storeRun() : bareRun());
      const second = await (storeFirst ? bareRun() : storeRun());
      return storeFirst ? [first, second] : [second, first];
    };
    const [su, bu] = await pair(
      () => opsPerSecond((n) => store.updates(n), UPDATES_PER_ROUND),
      () => opsPerSecond((n) => bare.updates(n), UPDATES_PER_ROUND),
    );
    const [sf, bf] = await pair(
      () => opsPerSecond((n) => store.flushes(n), FLUSHES_PER_ROUND),
      () => opsPerSecond((n) => bare.flushes(n), FLUSHES_PER_ROUND),
    );
    samples.storeUpdates.push(su!);
    samples.bareUpdates.push(bu!);
    samples.updateRatios.push(bu! / su!);
    samples.storeFlushes.push(sf!);
    samples.bareFlushes.push(bf!);
    samples.flushRatios.push(bf! / sf!);
  }
  await store.close();
  await bare.close();

  const report = (label: string, storeOps: number[], bareOps: number[], ratios: number[]) => {
    const ratio = median(ratios);
    console.log(
      `${label.padEnd(46)} store ${median(storeOps).toFixed(0).padStart(7)}/s  bare ${median(bareOps).toFixed(0).padStart(7)}/s  ratio ${ratio.toFixed(2)}x ${ratio <= TARGET ? '(within' : '(OVER'} ${TARGET}x target)`,
    );
  };
  console.log(
    `SqliteStore vs bare better-sqlite3, WAL + synchronous=NORMAL; medians of ${ROUNDS} back-to-back pairs (ratio = bare ops/s / store ops/s)`,
  );
  report(
    'updates (putFeature compare-and-set)',
    samples.storeUpdates,
    samples.bareUpdates,
    samples.updateRatios,
  );
  report(
    `metric flushes (addMetrics, ${FEATURES} features/batch)`,
    samples.storeFlushes,
    samples.bareFlushes,
    samples.flushRatios,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
