import type { MetricBucket } from '@canary-rollout/core';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { RedisStore } from '../src/index';
import { KeyLayout } from '../src/internal/keys';
import { bucket, codeOf, T0 } from './helpers/data';
import { commandsOf } from './helpers/monitor';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

describeWithRedis('metrics and retention', (target) => {
  let admin: Redis;
  const stores: RedisStore[] = [];
  beforeAll(() => {
    admin = new Redis(target().url);
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(async () => {
    await admin.quit();
  });

  async function open(options: ConstructorParameters<typeof RedisStore>[0] = {}) {
    const namespace = freshNamespace('metrics');
    const store = new RedisStore({ url: target().url, namespace, ...options });
    stores.push(store);
    await store.open();
    return { store, keys: new KeyLayout(namespace) };
  }

  /** A realistic flush: 100 features, two arms each, bins and registers. */
  const flushOf100 = (): MetricBucket[] =>
    Array.from({ length: 100 }, (_, i) => [
      bucket({ feature: `feature${i}` }),
      bucket({ feature: `feature${i}`, arm: 'control', calls: 3, users: { '1': 2 } }),
    ]).flat();

  it('flushes 100 features in one round trip (one EVALSHA seen by MONITOR)', async () => {
    const { store } = await open({ pollIntervalMs: 0 });
    await store.addMetrics([bucket()]); // loads the script once
    expect(await commandsOf(admin, () => store.addMetrics(flushOf100()))).toEqual(['evalsha']);
    const read = await store.readMetrics(0);
    expect(read).toHaveLength(201);
    expect(read.filter((b) => b.arm === 'control').every((b) => b.calls === 3)).toBe(true);
  });

  it('expires buckets metricsRetentionMs after their last write and drops their index entries', async () => {
    const { store, keys } = await open({ metricsRetentionMs: 60_000 });
    await store.addMetrics([bucket(), bucket({ bucketStart: T0 + 60_000 })]);
    const bucketKeys = await admin.zrange(keys.metricsIndex, 0, -1);
    expect(bucketKeys).toHaveLength(2);
    for (const member of bucketKeys) {
      const ttl = await admin.pttl(keys.metricBucket(member));
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    // What expiry does, without waiting for it.
    await admin.del(keys.metricBucket(bucketKeys[0]!));
    expect((await store.readMetrics(0)).map((b) => b.bucketStart)).toEqual([T0 + 60_000]);
    await store.addMetrics([bucket({ feature: 'other' })]);
    expect(await admin.zrange(keys.metricsIndex, 0, -1)).not.toContain(bucketKeys[0]);
  });

  it('keeps latency sums exact as doubles across many additions', async () => {
    const { store } = await open();
    let expected = 0;
    for (const sum of [0.1, 0.2, 1234.567, 1e-3, 98765.4321]) {
      expected += sum;
      await store.addMetrics([bucket({ latencySumMs: sum })]);
    }
    const [read] = await store.readMetrics(0);
    expect(read?.latencySumMs).toBe(expected);
  });

  it('reports a register that does not parse as corrupted, and never overwrites it', async () => {
    const { store, keys } = await open();
    await store.addMetrics([bucket()]);
    const [member] = await admin.zrange(keys.metricsIndex, 0, -1);
    await admin.hset(keys.metricBucket(member!), 'u:7', 'lots');
    expect(await codeOf(store.readMetrics(0))).toBe('STORE_DATA_CORRUPTED');
    await store.addMetrics([bucket({ users: { '7': 20 } })]);
    expect(await admin.hget(keys.metricBucket(member!), 'u:7')).toBe('lots');
  });

  it('fails a flush whole when one bucket key holds another type, applying none of it', async () => {
    const { store, keys } = await open();
    await store.addMetrics([bucket()]);
    const foreign = keys.metricBucket(keys.metricMember('ocr', 'treatment', T0));
    await admin.set(foreign, 'not a hash');
    expect(await codeOf(store.addMetrics([bucket(), bucket({ feature: 'ocr' })]))).toBe(
      'STORE_DATA_CORRUPTED',
    );
    expect((await store.readMetrics(0, ['search'])).map((b) => b.calls)).toEqual([10]);
  });

  it('caps each log at maxLogEntries, keeping the newest', async () => {
    const { store } = await open({ maxLogEntries: 5 });
    for (let i = 0; i < 12; i++) await store.appendLog('alerts', { at: T0 + i, i });
    expect((await store.listLogs('alerts')).map((e) => e['i'])).toEqual([7, 8, 9, 10, 11]);
    expect(await store.listLogs('health-reports')).toEqual([]);
  });

  it('reports foreign data under the state version or a feature key as corrupted', async () => {
    const { store, keys } = await open();
    await admin.set(keys.collection('features'), 'a string, not a hash');
    expect(await codeOf(store.readState())).toBe('STORE_DATA_CORRUPTED');
    await admin.del(keys.collection('features'));
    await admin.set(keys.version, 'seven');
    expect(await codeOf(store.readState())).toBe('STORE_DATA_CORRUPTED');
  });
});
