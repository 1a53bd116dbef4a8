import { MAX_METRIC_COUNT, type MetricBucket } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { MINUTE, makeBucket, T0 } from '../internal/builders';
import type { DriverContext } from './context';

const calls = (buckets: readonly MetricBucket[]) => buckets.reduce((n, b) => n + b.calls, 0);

/** addMetrics and readMetrics: merging, exactly-once batches, filters. */
export function describeDriverMetrics(ctx: DriverContext): void {
  describe('metrics', () => {
    it('sums counts and bins, maxes registers, and keeps stages and arms apart', async () => {
      const { driver } = ctx;
      await driver.addMetrics([makeBucket(), makeBucket({ arm: 'control' })]);
      const peer = await ctx.peer();
      await peer.addMetrics([
        makeBucket({ calls: 5, histogram: { '40': 1, '7': 2 }, users: { '7': 1, '9': 4 } }),
        makeBucket({ stage: 2 }),
      ]);
      const read = await driver.readMetrics(0);
      const treatment = read.filter((b) => b.arm === 'treatment' && b.stage === undefined);
      expect(treatment).toHaveLength(1);
      expect(treatment[0]).toMatchObject({
        calls: 15,
        successes: 18,
        failures: 2,
        latencyCount: 20,
        latencySumMs: 2400,
        histogram: { '40': 7, '48': 4, '7': 2 },
        users: { '7': 3, '9': 4, '1500': 1 },
      });
      expect(read.filter((b) => b.arm === 'control')).toHaveLength(1);
      expect(read.filter((b) => b.stage === 2)).toHaveLength(1);
    });

    it('saturates counts at MAX_METRIC_COUNT', async () => {
      await ctx.driver.addMetrics([makeBucket({ calls: MAX_METRIC_COUNT - 1 })]);
      await ctx.driver.addMetrics([makeBucket({ calls: 10 })]);
      expect((await ctx.driver.readMetrics(0))[0]?.calls).toBe(MAX_METRIC_COUNT);
    });

    it('applies a batch once per writer and number, across handles', async () => {
      const { driver } = ctx;
      const peer = await ctx.peer();
      await driver.addMetrics([makeBucket()], { writer: 'w1', seq: 1 });
      await peer.addMetrics([makeBucket()], { writer: 'w1', seq: 1 });
      await driver.addMetrics([makeBucket()], { writer: 'w1', seq: 1 });
      expect(calls(await driver.readMetrics(0))).toBe(10);
      await peer.addMetrics([makeBucket()], { writer: 'w2', seq: 1 });
      await driver.addMetrics([makeBucket()], { writer: 'w1', seq: 3 });
      // A lower number than the last applied was applied before.
      await driver.addMetrics([makeBucket()], { writer: 'w1', seq: 2 });
      expect(calls(await peer.readMetrics(0))).toBe(30);
      await driver.addMetrics([makeBucket()]);
      await driver.addMetrics([makeBucket()]);
      expect(calls(await peer.readMetrics(0))).toBe(50);
    });

    it('applies a batch sent by two handles at once exactly once', async () => {
      const peer = await ctx.peer();
      for (let seq = 1; seq <= 10; seq++) {
        const batch = { writer: 'racer', seq };
        await Promise.all([
          ctx.driver.addMetrics([makeBucket()], batch),
          peer.addMetrics([makeBucket()], batch),
        ]);
      }
      expect(calls(await ctx.driver.readMetrics(0))).toBe(100);
    });

    it('reads buckets from since, of the features asked, sorted by start, users only when wanted', async () => {
      const { driver } = ctx;
      await driver.addMetrics([
        makeBucket({ bucketStart: T0 + 2 * MINUTE }),
        makeBucket({ bucketStart: T0 }),
        makeBucket({ feature: 'ocr', bucketStart: T0 + MINUTE }),
        makeBucket({ bucketStart: T0 + MINUTE }),
      ]);
      const all = await driver.readMetrics(T0);
      expect(all.map((b) => b.bucketStart)).toEqual([T0, T0 + MINUTE, T0 + MINUTE, T0 + 2 * MINUTE]);
      expect((await driver.readMetrics(T0 + MINUTE)).map((b) => b.bucketStart)).toEqual([
        T0 + MINUTE,
        T0 + MINUTE,
        T0 + 2 * MINUTE,
      ]);
      expect((await driver.readMetrics(T0, ['ocr'])).map((b) => b.feature)).toEqual(['ocr']);
      expect(await driver.readMetrics(T0, [])).toEqual([]);
      const light = await driver.readMetrics(T0, ['search'], { users: false });
      expect(light).toHaveLength(3);
      expect(light.every((b) => Object.keys(b.users).length === 0 && b.calls === 10)).toBe(true);
      expect((await driver.readMetrics(T0, ['search']))[0]?.users).toEqual({ '7': 3, '1500': 1 });
    });
  });
}
