import { describe, expect, it } from 'vitest';
import { byKey } from './internal/assertions';
import { MINUTE, makeBucket, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** addMetrics (merging deltas) and readMetrics (filters and order). */
export function describeMetrics(ctx: SuiteContext): void {
  describe('metrics', () => {
    it('reads back a bucket as it was added', async () => {
      const bucket = makeBucket();
      await ctx.store.addMetrics([bucket]);
      expect(await ctx.store.readMetrics(0)).toEqual([bucket]);
    });

    it('reads the same counts without the registers when distinct users are not asked for (users: false)', async () => {
      const bucket = makeBucket();
      const other = makeBucket({ feature: 'ocr', users: { '3': 5 } });
      await ctx.store.addMetrics([bucket, other]);
      expect(byKey(await ctx.store.readMetrics(0, undefined, { users: false }))).toEqual(
        byKey([bucket, other]).map((b) => ({ ...b, users: {} })),
      );
      expect(await ctx.store.readMetrics(0, ['ocr'], { users: false })).toEqual([{ ...other, users: {} }]);
      expect(byKey(await ctx.store.readMetrics(0, undefined, { users: true }))).toEqual(
        byKey([bucket, other]),
      );
    });

    it('accepts an empty batch', async () => {
      await ctx.store.addMetrics([]);
      expect(await ctx.store.readMetrics(0)).toEqual([]);
    });

    it('merges deltas for the same key across calls: sums counts and bins, takes the max register', async () => {
      const { store } = ctx;
      await store.addMetrics([makeBucket()]);
      await store.addMetrics([
        makeBucket({
          calls: 5,
          successes: 3,
          failures: 2,
          latencyCount: 5,
          latencySumMs: 800,
          histogram: { '48': 1, '60': 4 },
          users: { '7': 2, '1500': 9, '2047': 1 },
        }),
      ]);
      expect(await store.readMetrics(0)).toEqual([
        makeBucket({
          calls: 15,
          successes: 12,
          failures: 3,
          latencyCount: 15,
          latencySumMs: 2000,
          histogram: { '40': 6, '48': 5, '60': 4 },
          users: { '7': 3, '1500': 9, '2047': 1 },
        }),
      ]);
    });

    it('merges deltas for the same key within one call', async () => {
      await ctx.store.addMetrics([makeBucket(), makeBucket()]);
      expect(await ctx.store.readMetrics(0)).toEqual([
        makeBucket({
          calls: 20,
          successes: 18,
          failures: 2,
          latencyCount: 20,
          latencySumMs: 2400,
          histogram: { '40': 12, '48': 8 },
        }),
      ]);
    });

    it('keeps features, arms and buckets apart', async () => {
      const buckets = [
        makeBucket(),
        makeBucket({ arm: 'control', calls: 3 }),
        makeBucket({ feature: 'ocr', calls: 4 }),
        makeBucket({ bucketStart: T0 + MINUTE, calls: 5 }),
        makeBucket({ arm: 'variant:short-prompt', calls: 6 }),
      ];
      await ctx.store.addMetrics(buckets);
      expect(byKey(await ctx.store.readMetrics(0))).toEqual(byKey(buckets));
    });

    it('merges deltas added through two handles, fleet-wide', async () => {
      const peer = await ctx.peer();
      await ctx.store.addMetrics([makeBucket()]);
      await peer.addMetrics([
        makeBucket({
          calls: 1,
          successes: 1,
          failures: 0,
          latencyCount: 1,
          latencySumMs: 30,
          histogram: { '40': 1 },
        }),
      ]);
      const expected = [
        makeBucket({
          calls: 11,
          successes: 10,
          failures: 1,
          latencyCount: 11,
          latencySumMs: 1230,
          histogram: { '40': 7, '48': 4 },
        }),
      ];
      expect(await ctx.store.readMetrics(0)).toEqual(expected);
      expect(await peer.readMetrics(0)).toEqual(expected);
    });

    it('adds concurrent deltas from two handles without losing any', async () => {
      const peer = await ctx.peer();
      const one = makeBucket({ calls: 1, successes: 1, failures: 0, latencyCount: 1, latencySumMs: 10 });
      const writes = [];
      for (let i = 0; i < 10; i++) {
        writes.push(ctx.store.addMetrics([{ ...one, histogram: { '40': 1 }, users: { [i]: 1 } }]));
        writes.push(peer.addMetrics([{ ...one, histogram: { '48': 1 }, users: { [i]: 2 } }]));
      }
      await Promise.all(writes);
      const users: Record<string, number> = {};
      for (let i = 0; i < 10; i++) users[i] = 2;
      expect(await ctx.store.readMetrics(0)).toEqual([
        {
          ...one,
          calls: 20,
          successes: 20,
          latencyCount: 20,
          latencySumMs: 200,
          histogram: { '40': 10, '48': 10 },
          users,
        },
      ]);
    });

    it('reads buckets starting at or after `since`, ordered by bucket start', async () => {
      const at = (minutes: number) => makeBucket({ bucketStart: T0 + minutes * MINUTE, calls: minutes + 1 });
      await ctx.store.addMetrics([at(2), at(0)]);
      await ctx.store.addMetrics([at(3), at(1)]);
      const read = await ctx.store.readMetrics(T0 + MINUTE);
      expect(read).toEqual([at(1), at(2), at(3)]);
      expect(await ctx.store.readMetrics(T0 + 3 * MINUTE)).toEqual([at(3)]);
      expect(await ctx.store.readMetrics(T0 + 3 * MINUTE + 1)).toEqual([]);
    });

    it('reads only the features asked for', async () => {
      const search = makeBucket({ feature: 'search' });
      const ocr = makeBucket({ feature: 'ocr', bucketStart: T0 + MINUTE });
      const translate = makeBucket({ feature: 'translate' });
      await ctx.store.addMetrics([search, ocr, translate]);
      expect(await ctx.store.readMetrics(0, ['ocr'])).toEqual([ocr]);
      expect(byKey(await ctx.store.readMetrics(0, ['search', 'ocr']))).toEqual(byKey([search, ocr]));
      expect(await ctx.store.readMetrics(0, ['unknown'])).toEqual([]);
      expect(await ctx.store.readMetrics(0, [])).toEqual([]);
      expect(await ctx.store.readMetrics(T0 + 1, ['search', 'ocr'])).toEqual([ocr]);
    });

    it('returns buckets ordered by bucket start across features', async () => {
      const buckets = [3, 1, 4, 0, 2].map((m, i) =>
        makeBucket({ feature: i % 2 === 0 ? 'search' : 'ocr', bucketStart: T0 + m * MINUTE }),
      );
      await ctx.store.addMetrics(buckets);
      const starts = (await ctx.store.readMetrics(0)).map((b) => b.bucketStart);
      expect(starts).toEqual([0, 1, 2, 3, 4].map((m) => T0 + m * MINUTE));
    });
  });
}
