import type { BetaUser, MetricBucket } from '@canary-rollout/core';
import type { FeatureWrite } from '@canary-rollout/core/store-kit';
import fc from 'fast-check';
import { T0 } from './builders';

/** Epoch ms from 1970 to 2100. */
const epochMs = fc.integer({ min: 0, max: 4_102_444_800_000 });

/** Printable text of any script, at most `max` UTF-16 units. */
const text = (min: number, max: number) =>
  fc.string({ unit: 'grapheme', minLength: min, maxLength: max }).filter((s) => s.length <= max);

/** The tail of a feature name: the characters a name may hold after its first letter. */
const nameTail = fc.stringMatching(/^[A-Za-z0-9_.-]{0,40}$/);

/**
 * A valid feature write. `unique` makes the name distinct per run, so runs can share one store
 * (and shrinking can re-run any of them).
 */
export function featureWriteArb(unique: () => number): fc.Arbitrary<FeatureWrite> {
  return fc
    .record(
      {
        tail: nameTail,
        enabled: fc.boolean(),
        rolloutPercentage: fc.integer({ min: 0, max: 10_000 }).map((h) => h / 100),
        rolloutStrategy: fc.constantFrom('gradual' as const, 'beta-only' as const, 'stable' as const),
        salt: text(1, 128),
        updatedAt: epochMs,
        stageStartedAt: epochMs,
        lastRollbackAt: epochMs,
      },
      {
        requiredKeys: [
          'tail',
          'enabled',
          'rolloutPercentage',
          'rolloutStrategy',
          'salt',
          'updatedAt',
          'stageStartedAt',
        ],
      },
    )
    .map(({ tail, ...rest }) => ({ name: `f${unique()}_${tail}`.slice(0, 64), ...rest }));
}

/** A valid user with an id and email distinct per run; ids and names hold any printable text. */
export function userArb(unique: () => number): fc.Arbitrary<BetaUser> {
  return fc
    .record({
      idText: text(1, 40),
      local: fc.stringMatching(/^[A-Za-z0-9._%+-]{1,30}$/),
      domain: fc.constantFrom('example.com', 'Example.ORG', 'mail.example.net'),
      name: text(0, 60),
      interests: fc.array(
        nameTail.map((t) => `i${t}`),
        { maxLength: 4 },
      ),
      createdAt: epochMs,
    })
    .map(({ idText, local, domain, ...rest }) => {
      const n = unique();
      return { id: `${idText}#${n}`, email: `${local}.${n}@${domain}`, ...rest };
    });
}

/** A valid metric bucket of a feature distinct per run, with realistic bins and registers. */
export function metricBucketArb(unique: () => number): fc.Arbitrary<MetricBucket> {
  const count = fc.integer({ min: 0, max: 2_000_000_000 });
  return fc
    .record({
      tail: nameTail,
      arm: fc.oneof(fc.constantFrom('treatment', 'control'), fc.stringMatching(/^[A-Za-z0-9:_.-]{1,80}$/)),
      // Within four hours of T0: stores may prune old buckets.
      minute: fc.integer({ min: 0, max: 240 }),
      calls: count,
      successes: count,
      failures: count,
      latencyCount: count,
      latencySumMs: fc.integer({ min: 0, max: 1_000_000_000 }).map((n) => n / 1000),
      histogram: fc.dictionary(
        fc.integer({ min: 0, max: 255 }).map(String),
        fc.integer({ min: 1, max: 1_000_000 }),
        { maxKeys: 20 },
      ),
      users: fc.dictionary(fc.integer({ min: 0, max: 2047 }).map(String), fc.integer({ min: 1, max: 22 }), {
        maxKeys: 40,
      }),
    })
    .map(({ tail, minute, ...rest }) => ({
      feature: `m${unique()}_${tail}`.slice(0, 64),
      bucketStart: T0 + minute * 60_000,
      ...rest,
    }));
}
