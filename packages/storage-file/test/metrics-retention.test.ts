import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetricBucket } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

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

describe('metrics documents', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let now = 0;
  const shards = async () =>
    (await readdir(join(temp.dir, 'metrics'))).filter((n) => !n.endsWith('.bak')).sort();

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
    const doc = JSON.parse(await readFile(join(temp.dir, 'metrics', `buckets-${start}.json`), 'utf8'));
    expect(doc.formatVersion).toBe(1);
    expect(doc.buckets).toHaveLength(2);
    const [treatment] = (await store.readMetrics(0, ['a'])).filter((x) => x.arm === 'treatment');
    expect(treatment).toMatchObject({
      calls: 10,
      latencySumMs: 100,
      histogram: { '7': 10 },
      users: { '3': 2, '9': 4 },
    });
    await store.close();
  });

  it('writes one document per metricsShardMs, and reads across them in order', async () => {
    const store = new FileStore({ dir: temp.dir, now: () => now, metricsShardMs: 10 * MINUTE });
    await store.open();
    const base = now - (now % (10 * MINUTE));
    await store.addMetrics([
      bucket('a', base + 25 * MINUTE, 1),
      bucket('b', base, 1),
      bucket('a', base + 9 * MINUTE, 1),
    ]);
    expect(await shards()).toEqual([`buckets-${base}.json`, `buckets-${base + 20 * MINUTE}.json`]);
    expect((await store.readMetrics(base + MINUTE)).map((b) => [b.feature, b.bucketStart])).toEqual([
      ['a', base + 9 * MINUTE],
      ['a', base + 25 * MINUTE],
    ]);
    expect((await store.readMetrics(0, ['b'])).map((b) => b.bucketStart)).toEqual([base]);
    await store.close();
  });

  it('prunes buckets and whole documents older than metricsRetentionMs on write', async () => {
    const store = new FileStore({ dir: temp.dir, now: () => now, metricsRetentionMs: 2 * HOUR });
    await store.open();
    await store.addMetrics([bucket('a', now - 3 * HOUR, 1), bucket('a', now, 1)]);
    expect((await store.readMetrics(0)).map((b) => b.bucketStart)).toEqual([now]);
    expect(await shards()).toEqual([`buckets-${now}.json`]);
    await store.addMetrics([bucket('a', now - HOUR, 1)]);
    now += 2 * HOUR;
    await store.addMetrics([bucket('b', now, 1)]);
    expect((await store.readMetrics(0)).map((b) => b.bucketStart)).toEqual([now - 2 * HOUR, now]);
    expect(await shards()).toEqual([`buckets-${now - 2 * HOUR}.json`, `buckets-${now}.json`]);
    // The last good copies of deleted documents go with them.
    expect((await readdir(join(temp.dir, 'metrics'))).filter((n) => n.includes(`${now - 3 * HOUR}`))).toEqual(
      [],
    );
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
