import {
  CanaryRolloutService,
  ManualClock,
  type MetricBucket,
  type RolloutStore,
  StoreUnavailableError,
} from '@canary-rollout/core';
import type { MetricBatch } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { byKey, expectCode } from './internal/assertions';
import { makeBucket, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

const total = (buckets: readonly MetricBucket[]) => buckets.reduce((sum, b) => sum + b.calls, 0);

/**
 * A view of `store` whose `addMetrics` applies the batch and then fails, as when the reply or a
 * lock release is lost after the write: the caller cannot tell it was applied.
 */
function losingAcknowledgements(store: RolloutStore, times: number): RolloutStore {
  let left = times;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'addMetrics') {
        return async (deltas: readonly MetricBucket[], batch?: MetricBatch) => {
          await target.addMetrics(deltas, batch);
          if (left-- > 0) throw new StoreUnavailableError('acknowledgement lost after the write');
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Exactly-once batches, stage identity in the bucket key, and values a store cannot keep. */
export function describeMetricBatches(ctx: SuiteContext): void {
  describe('metric batches and stages', () => {
    it('applies a batch sent again under its writer and number once', async () => {
      const { store } = ctx;
      const batch = { writer: 'w_one', seq: 1 };
      await store.addMetrics([makeBucket()], batch);
      await store.addMetrics([makeBucket()], batch);
      expect(total(await store.readMetrics(0))).toBe(10);
      // An older number of the same writer was applied before, too.
      await store.addMetrics([makeBucket()], { writer: 'w_one', seq: 3 });
      await store.addMetrics([makeBucket()], { writer: 'w_one', seq: 2 });
      expect(total(await store.readMetrics(0))).toBe(20);
      // Numbers are per writer; a call without a batch is always applied.
      await store.addMetrics([makeBucket()], { writer: 'w_two', seq: 1 });
      await store.addMetrics([makeBucket()]);
      expect(total(await store.readMetrics(0))).toBe(40);
    });

    it('skips a batch applied through another handle', async () => {
      const peer = await ctx.peer();
      const batch = { writer: 'w_one', seq: 7 };
      await ctx.store.addMetrics([makeBucket()], batch);
      await peer.addMetrics([makeBucket()], batch);
      expect(total(await peer.readMetrics(0))).toBe(10);
    });

    it('refuses a malformed batch id without applying anything', async () => {
      for (const batch of [
        { writer: '', seq: 1 },
        { writer: 'w', seq: 0 },
        { writer: 'w', seq: 1.5 },
      ]) {
        await expectCode(ctx.store.addMetrics([makeBucket()], batch), 'INVALID_ARGUMENT');
      }
      expect(await ctx.store.readMetrics(0)).toEqual([]);
    });

    it('counts every tracked call once when the acknowledgement of a flush is lost after the write', async () => {
      const clock = new ManualClock(T0);
      const service = await CanaryRolloutService.create({
        store: losingAcknowledgements(ctx.store, 2),
        clock,
        config: { canaryRollout: { features: { search: { rolloutPercentage: 50 } } } },
      });
      const errors: unknown[] = [];
      service.events.on('error', (error) => errors.push(error));
      try {
        for (let i = 0; i < 10; i++) service.trackFeatureUsage(`user-${i}`, 'search', { calls: 1 });
        await service.flush();
        await service.flush();
        service.trackFeatureUsage('user-10', 'search', { calls: 5 });
        await service.flush();
        expect(errors).toHaveLength(2);
        expect(service.pendingMetricBuckets()).toBe(0);
        expect(total(await ctx.store.readMetrics(0, ['search']))).toBe(15);
      } finally {
        await service.close();
      }
    });

    it('keeps the buckets of two stages apart within one time bucket, and a bucket without a stage', async () => {
      const buckets = [
        makeBucket({ calls: 1, successes: 1, failures: 0 }),
        makeBucket({ stage: 1, calls: 2, successes: 2, failures: 0 }),
        makeBucket({ stage: 2, calls: 3, successes: 3, failures: 0 }),
      ];
      await ctx.store.addMetrics(buckets);
      await ctx.store.addMetrics([makeBucket({ stage: 2, calls: 4, successes: 4, failures: 0 })]);
      const read = byKey(await ctx.store.readMetrics(0));
      expect(read.map((b) => [b.stage, b.calls])).toEqual([
        [undefined, 1],
        [1, 2],
        [2, 7],
      ]);
      expect(read[0]).not.toHaveProperty('stage');
      expect(byKey(await ctx.store.readMetrics(0, ['search'], { users: false })).map((b) => b.stage)).toEqual(
        [undefined, 1, 2],
      );
    });

    it('refuses values it cannot keep, naming the field, and applies nothing of that call', async () => {
      const good = makeBucket({ feature: 'ocr' });
      const bad: MetricBucket[] = [
        makeBucket({ calls: 2 ** 53 + 2 }),
        makeBucket({ calls: 1e300 }),
        makeBucket({ latencySumMs: Number.POSITIVE_INFINITY }),
        makeBucket({ latencySumMs: Number.NaN }),
        makeBucket({ stage: 0 }),
      ];
      for (const bucket of bad) {
        await expectCode(ctx.store.addMetrics([good, bucket]), 'INVALID_ARGUMENT');
      }
      expect(await ctx.store.readMetrics(0)).toEqual([]);
    });

    it('saturates sums at Number.MAX_SAFE_INTEGER instead of storing what cannot be read back', async () => {
      const max = Number.MAX_SAFE_INTEGER;
      const big = makeBucket({
        calls: max,
        successes: max,
        failures: 0,
        latencyCount: 0,
        latencySumMs: 0,
        histogram: { '40': max },
      });
      await ctx.store.addMetrics([big]);
      await ctx.store.addMetrics([big]);
      const [read] = await ctx.store.readMetrics(0);
      expect(read).toMatchObject({ calls: max, successes: max, histogram: { '40': max } });
    });
  });
}
