import type { MetricBucket } from '@canary-rollout/core';
import { isMetricBucket, mergeMetricBucket, metricBucketSchema } from '@canary-rollout/core/store-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeRegisters, sparseRegisters } from '../src/internal/metric-codec';

const count = fc.oneof(fc.nat(1000), fc.constantFrom(-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY));
const anyValue = fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null), fc.constant(undefined), count);
const histogram = fc.dictionary(
  fc.oneof(fc.nat(300).map(String), fc.constantFrom('x', '1000', '-1', '__proto__')),
  count,
  { maxKeys: 6 },
);
const users = fc.dictionary(
  fc.oneof(fc.nat(2100).map(String), fc.constantFrom('12345', 'a')),
  fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(2.5)),
  { maxKeys: 6 },
);

/** Buckets near the schema's edges: most fields valid, some not. */
const nearBucket = fc.record({
  feature: fc.oneof(
    fc.constantFrom('search', 'a.b-c_d', '', '1abc', 'constructor', 'x'.repeat(65)),
    anyValue,
  ),
  arm: fc.oneof(fc.constantFrom('treatment', 'control', 'variant:a', 'bad arm', ''), anyValue),
  bucketStart: count,
  calls: count,
  successes: count,
  failures: count,
  latencyCount: count,
  latencySumMs: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), count),
  histogram: fc.oneof(histogram, fc.constant([]), fc.constant(null)),
  users: fc.oneof(users, fc.constant(new Map())),
});

const validBucket: fc.Arbitrary<MetricBucket> = fc.record({
  feature: fc.constantFrom('search', 'ocrFallback'),
  arm: fc.constantFrom('treatment', 'control'),
  bucketStart: fc.nat(),
  calls: fc.nat(),
  successes: fc.nat(),
  failures: fc.nat(),
  latencyCount: fc.nat(),
  latencySumMs: fc.double({ min: 0, max: 1e9, noNaN: true }),
  histogram: fc.dictionary(fc.nat(255).map(String), fc.nat(), { maxKeys: 20 }),
  users: fc.dictionary(fc.nat(2047).map(String), fc.integer({ min: 1, max: 22 }), { maxKeys: 40 }),
});

describe('the hand-written metric bucket check', () => {
  it('never accepts what metricBucketSchema rejects', () => {
    fc.assert(
      fc.property(nearBucket, (value) => {
        if (isMetricBucket(value)) expect(metricBucketSchema.safeParse(value).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every bucket the schema accepts among well-formed ones', () => {
    fc.assert(
      fc.property(validBucket, (value) => {
        expect(metricBucketSchema.safeParse(value).success).toBe(true);
        expect(isMetricBucket(value)).toBe(true);
      }),
    );
  });
});

describe('dense HyperLogLog registers', () => {
  it('merge exactly like the sparse maximum of core', () => {
    fc.assert(
      fc.property(fc.array(validBucket, { minLength: 1, maxLength: 5 }), (buckets) => {
        let dense: Uint8Array | undefined;
        const expected = { ...buckets[0]!, users: {} } as MetricBucket;
        for (const b of buckets) {
          dense = mergeRegisters(dense, b.users);
          mergeMetricBucket(expected, { ...b, histogram: {} });
        }
        expect(sparseRegisters(dense ?? new Uint8Array())).toEqual(expected.users);
      }),
    );
  });
});
