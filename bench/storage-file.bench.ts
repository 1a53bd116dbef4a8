/**
 * FileStore against a bare atomic write of the same document, in one run:
 * - updates: putFeature with compare-and-set (lock, read and validate, temp file, fsync, keep .bak,
 *   rename, fsync of the folder, unlock) against writing the same rollout-config.json atomically
 *   (temp file, fsync, rename, fsync of the folder) with no lock, read or validation;
 * - metric flushes: addMetrics of a 10-feature batch against the same atomic write of the
 *   resulting metrics document;
 * - log appends: appendLog against one O_APPEND write + fdatasync of the same line.
 * Store and bare runs are interleaved over rounds and the medians compared: the machines are
 * shared and noisy, and fsync times vary with the disk.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureRecord, MetricBucket } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';

const ROUNDS = 5;
const UPDATES_PER_ROUND = 200;
const FLUSHES_PER_ROUND = 100;
const APPENDS_PER_ROUND = 200;
const FEATURES = 10;

const dir = mkdtempSync(join(tmpdir(), 'canary-file-bench-'));

// Deterministic workload: the same batches for every round.
let seed = 42;
const rand = (max: number) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return Math.floor((seed / 2147483648) * max);
};
const NOW = 1_700_000_000_000;
const BATCHES: MetricBucket[][] = Array.from({ length: 30 }, (_, b) =>
  Array.from({ length: FEATURES }, (_, f) => {
    const histogram: Record<string, number> = {};
    for (let i = 0; i < 30; i++) histogram[rand(256)] = 1 + rand(20);
    const users: Record<string, number> = {};
    for (let i = 0; i < 100; i++) users[rand(2048)] = 1 + rand(12);
    const calls = 100 + rand(100);
    return {
      feature: `feature${f}`,
      arm: 'treatment',
      // Three 10 s buckets of one 5-minute metrics document, as a flush every 5 s touches.
      bucketStart: NOW + (b % 3) * 10_000,
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

/** The bare baseline: temp file, fsync, rename, fsync of the folder. */
async function atomicWrite(path: string, data: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(tmp, 'wx', 0o600);
  await file.writeFile(data);
  await file.sync();
  await file.close();
  await rename(tmp, path);
  const folder = await open(join(path, '..'), 'r');
  await folder.sync();
  await folder.close();
}

async function timed(n: number, body: (i: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) await body(i);
  return n / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const store = new FileStore({ dir: join(dir, 'store'), metricsRetentionMs: Number.MAX_SAFE_INTEGER });
  await store.open();
  for (let f = 0; f < FEATURES; f++) {
    await store.putFeature(
      {
        name: `feature${f}`,
        enabled: true,
        rolloutPercentage: 10,
        rolloutStrategy: 'gradual',
        salt: `feature${f}`,
        updatedAt: 1,
        stageStartedAt: 1,
      },
      null,
    );
  }
  let feature = (await store.readState()).features[0] as FeatureRecord;
  let batch = 0;
  // Warm the metrics document up to the size it has in steady state.
  for (let i = 0; i < BATCHES.length; i++) await store.addMetrics(BATCHES[batch++ % BATCHES.length]!);

  const bareDir = join(dir, 'bare');
  await mkdir(bareDir);
  const configDoc = await readFile(store.layout.config, 'utf8');
  const metricsPath = join(store.layout.metricsDir, `buckets-${NOW - (NOW % 300_000)}.json`);
  const metricsDoc = await readFile(metricsPath, 'utf8');
  const line = `${JSON.stringify({ at: NOW, type: 'warning', feature: 'feature0', errorRate: 0.061 })}\n`;

  const results = { update: [] as number[], bareUpdate: [] as number[], flush: [] as number[] };
  const more = { bareFlush: [] as number[], append: [] as number[], bareAppend: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    results.update.push(
      await timed(UPDATES_PER_ROUND, async (i) => {
        const { version, ...write } = feature;
        feature = await store.putFeature({ ...write, rolloutPercentage: i % 100, updatedAt: i }, version);
      }),
    );
    results.bareUpdate.push(
      await timed(UPDATES_PER_ROUND, () => atomicWrite(join(bareDir, 'rollout-config.json'), configDoc)),
    );
    results.flush.push(
      await timed(FLUSHES_PER_ROUND, () => store.addMetrics(BATCHES[batch++ % BATCHES.length]!)),
    );
    more.bareFlush.push(
      await timed(FLUSHES_PER_ROUND, () => atomicWrite(join(bareDir, 'metrics.json'), metricsDoc)),
    );
    more.append.push(
      await timed(APPENDS_PER_ROUND, () => store.appendLog('alerts', { at: NOW, type: 'warning' })),
    );
    const log = await open(join(bareDir, 'alerts.jsonl'), 'a', 0o600);
    more.bareAppend.push(
      await timed(APPENDS_PER_ROUND, async () => {
        await log.write(line);
        await log.datasync();
      }),
    );
    await log.close();
  }
  await store.close();

  const row = (label: string, storeRate: number, bareRate: number, baseline: string) =>
    console.log(
      `${label.padEnd(34)} ${storeRate.toFixed(0).padStart(6)}/s   ${baseline} ${bareRate.toFixed(0).padStart(6)}/s   ratio ${(bareRate / storeRate).toFixed(2)}x`,
    );
  console.log(
    `file store on ${tmpdir()}: rollout-config.json ${configDoc.length} bytes, metrics document ${metricsDoc.length} bytes (${FEATURES} features x 3 buckets), medians of ${ROUNDS} rounds`,
  );
  row(
    'updates (putFeature CAS, locked)',
    median(results.update),
    median(results.bareUpdate),
    'bare atomic write',
  );
  row(
    'metric flushes (10 features, locked)',
    median(results.flush),
    median(more.bareFlush),
    'bare atomic write',
  );
  row(
    'log appends (appendLog, locked)',
    median(more.append),
    median(more.bareAppend),
    'bare append+fdatasync',
  );
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
