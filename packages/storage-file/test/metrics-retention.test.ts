import { readFile } from 'node:fs/promises';
import type { MetricBucket } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const HOUR = 60 * 60 * 1000;

const bucket = (feature: string, bucketStart: number, calls: number, arm = 'treatment'): MetricBucket => ({
  feature,
  arm,
  bucketStart,
  calls,
  successes: calls,
  failures: 0,
  latencyCount: calls,
  latencySumMs: calls * 10,
  histogram: { '7': calls },
  users: { '3': 2 },
});

describe('metrics document', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let now = 0;
  beforeEach(async () => {
    temp = await tempDir('storage-file-metrics-');
    now = 100 * HOUR;
  });
  afterEach(async () => {
    await temp.remove();
  });

  it('keeps one merged bucket per feature, arm and bucket start', async () => {
    const store = new FileStore({ dir: temp.dir, now: () => now });
    await store.open();
    const start = now - HOUR;
    await store.addMetrics([bucket('a', start, 2), bucket('a', start, 3), bucket('a', start, 1, 'control')]);
    await store.addMetrics([{ ...bucket('a', start, 5), users: { '3': 1, '9': 4 } }]);
    const doc = JSON.parse(await readFile(store.layout.metrics, 'utf8'));
    expect(doc.formatVersion).toBe(1);
    expect(doc.buckets).toHaveLength(2);
    const [treatment] = await store.readMetrics(0, ['a']).then((b) => b.filter((x) => x.arm === 'treatment'));
    expect(treatment).toMatchObject({
      calls: 10,
      latencySumMs: 100,
      histogram: { '7': 10 },
      users: { '3': 2, '9': 4 },
    });
    await store.close();
  });

  it('prunes buckets older than metricsRetentionMs on write', async () => {
    const store = new FileStore({ dir: temp.dir, now: () => now, metricsRetentionMs: 2 * HOUR });
    await store.open();
    await store.addMetrics([bucket('a', now - 3 * HOUR, 1), bucket('a', now, 1)]);
    expect((await store.readMetrics(0)).map((b) => b.bucketStart)).toEqual([now]);
    now += 2 * HOUR;
    await store.addMetrics([bucket('b', now, 1)]);
    expect((await store.readMetrics(0)).map((b) => b.bucketStart)).toEqual([now - 2 * HOUR, now]);
    await store.close();
  });

  it('measures age from the newest bucket when the clock is ahead, so old data sets are kept', async () => {
    // Buckets far in the past of the clock (a replay, a test with small timestamps) all survive.
    const store = new FileStore({ dir: temp.dir, now: () => now, metricsRetentionMs: 2 * HOUR });
    await store.open();
    await store.addMetrics([bucket('a', 0, 1), bucket('a', HOUR, 1)]);
    expect(await store.readMetrics(0)).toHaveLength(2);
    await store.close();
  });

  it('defaults to 24 hours of retention', async () => {
    const store = new FileStore({ dir: temp.dir, now: () => now });
    expect(store.options.metricsRetentionMs).toBe(24 * HOUR);
    await store.open();
    await store.addMetrics([
      bucket('a', now - 25 * HOUR, 1),
      bucket('a', now - 23 * HOUR, 1),
      bucket('a', now, 1),
    ]);
    expect((await store.readMetrics(0)).map((b) => b.bucketStart)).toEqual([now - 23 * HOUR, now]);
    await store.close();
  });
});
