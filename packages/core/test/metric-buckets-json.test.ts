import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MemoryStore, type MetricBucket } from '../src/index';
import {
  createRolloutStore,
  isMetricBucket,
  type MetricBatch,
  metricBucketsJson,
  type RolloutDriver,
} from '../src/store-kit';

const bucket = (over: Record<string, unknown> = {}): MetricBucket =>
  ({
    feature: 'checkout.v2',
    arm: 'treatment',
    bucketStart: 1_700_000_040_000,
    calls: 120,
    successes: 118,
    failures: 2,
    latencyCount: 120,
    latencySumMs: 14_460.25,
    histogram: { 3: 4, 17: 100, 255: 16 },
    users: { 0: 1, 7: 3, 2047: 32, 9999: 2 },
    ...over,
  }) as MetricBucket;

/** What `JSON.stringify` writes for a bucket's schema fields, in the encoder's order. */
const schemaJson = (buckets: readonly MetricBucket[]) =>
  JSON.stringify(
    buckets.map((b) => ({
      feature: b.feature,
      arm: b.arm,
      ...(b.stage === undefined ? {} : { stage: b.stage }),
      bucketStart: b.bucketStart,
      calls: b.calls,
      successes: b.successes,
      failures: b.failures,
      latencyCount: b.latencyCount,
      latencySumMs: b.latencySumMs,
      histogram: b.histogram,
      users: b.users,
    })),
  );

describe('metricBucketsJson', () => {
  it('writes what JSON.stringify writes for the schema fields', () => {
    const nullProto = Object.assign(Object.create(null) as Record<string, number>, { 12: 5 });
    const buckets = [
      bucket(),
      bucket({ stage: 3, arm: 'control:a_b.c-d', latencySumMs: 0.1 + 0.2 }),
      bucket({ histogram: {}, users: {}, calls: 0, latencySumMs: -0 }),
      bucket({ histogram: { '007': 1 }, users: nullProto, latencySumMs: 1e21 }),
      bucket({ calls: Number.MAX_SAFE_INTEGER, extra: 'not a column' }),
    ];
    expect(buckets.every((b) => isMetricBucket(b))).toBe(true);
    expect(metricBucketsJson(buckets)).toBe(schemaJson(buckets));
    expect(metricBucketsJson([])).toBe('[]');
  });

  it('gives up (undefined) on every bucket isMetricBucket rejects', () => {
    const bad: Record<string, unknown>[] = [
      { feature: '1bad' },
      { feature: '__proto__' },
      { arm: 'has "quote' },
      { arm: '' },
      { bucketStart: -1 },
      { stage: 0 },
      { stage: 1.5 },
      { calls: 1.5 },
      { successes: Number.MAX_SAFE_INTEGER + 1 },
      { latencySumMs: Number.POSITIVE_INFINITY },
      { latencySumMs: -1 },
      { histogram: { 1000: 1 } },
      { histogram: { 1: -1 } },
      { histogram: { 1: Number.NaN } },
      { histogram: { '1"': 1 } },
      { histogram: [1, 2] },
      { users: { 10000: 1 } },
      { users: { 1: 33 } },
      { users: { 1: 0 } },
      { users: { 1: undefined } },
      { users: null },
    ];
    for (const over of bad) {
      const b = bucket(over);
      expect(isMetricBucket(b), JSON.stringify(over)).toBe(false);
      expect(metricBucketsJson([bucket(), b]), JSON.stringify(over)).toBeUndefined();
    }
    expect(metricBucketsJson([null])).toBeUndefined();
    expect(metricBucketsJson([[bucket()]])).toBeUndefined();
  });
});

describe('DriverStore.addMetrics with a driver sending JSON', () => {
  const recording = (encoding: 'json' | undefined) => {
    const calls: { deltas: readonly MetricBucket[]; batch?: MetricBatch; json?: string; args: number }[] = [];
    const driver = {
      ...(encoding === undefined ? {} : { metricsEncoding: encoding }),
      addMetrics: async (...args: unknown[]) => {
        const [deltas, batch, json] = args as [readonly MetricBucket[], MetricBatch?, string?];
        calls.push({
          deltas,
          ...(batch === undefined ? {} : { batch }),
          ...(json === undefined ? {} : { json }),
          args: args.length,
        });
      },
    } as unknown as RolloutDriver;
    return { store: createRolloutStore(driver, { name: 'storage-test' }), calls };
  };

  it('hands the driver the text written while checking, with a copy of the deltas', async () => {
    const { store, calls } = recording('json');
    const deltas = [bucket(), bucket({ stage: 2, arm: 'control' })];
    await store.addMetrics(deltas, { writer: 'w1', seq: 4 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.json).toBe(schemaJson(deltas));
    expect(calls[0]!.deltas).toEqual(deltas);
    expect(calls[0]!.deltas).not.toBe(deltas);
    expect(calls[0]!.batch).toEqual({ writer: 'w1', seq: 4 });
  });

  it('passes no text to a driver that did not ask for it', async () => {
    const { store, calls } = recording(undefined);
    await store.addMetrics([bucket()]);
    expect(calls[0]!.json).toBeUndefined();
    expect(calls[0]!.args).toBe(2);
  });

  it('keeps the message naming the field and value, and writes nothing', async () => {
    const { store, calls } = recording('json');
    const plain = new MemoryStore();
    for (const over of [{ users: { 1: 33 } }, { histogram: { abc: 1 } }, { bucketStart: -5 }]) {
      const attempt = store.addMetrics([bucket(), bucket(over)]);
      await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError);
      const message = await attempt.then(
        () => '',
        (e: Error) => e.message,
      );
      // The same problems as a store whose driver takes objects (MemoryStore), by path.
      const reference = await plain.addMetrics([bucket(), bucket(over)]).then(
        () => '',
        (e: Error) => e.message,
      );
      expect(message.replace('@canary-rollout/storage-test', '@canary-rollout/core')).toBe(reference);
      expect(message).toMatch(/invalid addMetrics argument: (users\.1|histogram\.abc|bucketStart)/);
    }
    expect(calls).toHaveLength(0);
  });
});
