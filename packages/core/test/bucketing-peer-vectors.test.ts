import { readFileSync } from 'node:fs';
import { type BucketingConfig, CanaryRolloutService, ManualClock } from '@canary-rollout/core';
import {
  flagdBucket,
  growthbookHash,
  murmurUtf8Hash,
  unleashNormalizedValue,
} from '@canary-rollout/core/experiments';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { growthbookBucketRanges } from '../src/bucketing/modes';
import { UnleashVariantAssigner } from '../src/bucketing/peer-variants';
import { fnv1a, fnv1aDecimal } from '../src/bucketing/peers';

interface Vectors {
  unleash: {
    normalizedValue: { id: string; groupId: string; value: number; utf8Value?: number }[];
    rollouts: { feature: string; groupId: string; rollout: number; userId: string; enabled: boolean }[];
    variants: {
      feature: string;
      seed: number;
      variants: [string, number][];
      cases: { userId: string; variant: string }[];
    }[];
  };
  growthbook: {
    hash: { seed: string; value: string; version: 1 | 2; expected: number }[];
    forceRules: { description: string; feature: string; coverage: number; id: string; on: boolean }[];
    getBucketRange: {
      description: string;
      args: [number, number, number[] | null];
      expected: [number, number][];
    }[];
  };
  flagd: {
    murmur3: { key: string; hash: number }[];
    hashEdge: { seed: string; variants: [string, number][]; cases: { key: string; variant: string }[] };
    fractional: {
      flag: string;
      seed: string;
      variants: [string, number][];
      cases: { key: string; variant: string }[];
    }[];
  };
}

const vectors = JSON.parse(
  readFileSync(new URL('./fixtures/peer-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

/** A service with one gradual feature in the given bucketing at `percentage`. */
function serviceWith(name: string, percentage: number, bucketing: BucketingConfig): CanaryRolloutService {
  return new CanaryRolloutService({
    clock: new ManualClock(0),
    config: {
      canaryRollout: {
        features: { [name]: { enabled: true, rolloutPercentage: percentage, bucketing } },
      },
    },
  });
}

/** flagd's fractional choice: the first variant whose cumulative weight exceeds the bucket. */
function fractional(variants: [string, number][], bucketBy: string): string {
  const total = variants.reduce((sum, [, w]) => sum + w, 0);
  const bucket = flagdBucket(bucketBy, total);
  let end = 0;
  for (const [name, weight] of variants) {
    end += weight;
    if (bucket < end) return name;
  }
  return '';
}

describe('unleash vectors', () => {
  it('gives the normalized values of unleash-client-node, low byte per UTF-16 unit', () => {
    for (const v of vectors.unleash.normalizedValue) {
      expect(unleashNormalizedValue(v.id, v.groupId), `${v.groupId}:${v.id}`).toBe(v.value);
      if (v.utf8Value !== undefined) {
        // A UTF-8 implementation (ours, other Unleash SDKs) gives another value for non-ASCII ids.
        expect((murmurUtf8Hash(`${v.groupId}:${v.id}`) % 100) + 1).toBe(v.utf8Value);
        expect(v.utf8Value).not.toBe(v.value);
      }
    }
  });

  it('turns the specification rollouts on and off as the specification says', () => {
    for (const v of vectors.unleash.rollouts) {
      const service = serviceWith('feature', v.rollout, { algorithm: 'unleash', groupId: v.groupId });
      expect(service.isFeatureEnabledForUser(v.userId, 'feature'), `${v.feature} ${v.userId}`).toBe(
        v.enabled,
      );
    }
  });

  it('defaults the group id to the feature name, as flexibleRollout does', () => {
    const name = 'Feature.flexibleRollout.10';
    const service = serviceWith(name, 10, { algorithm: 'unleash' });
    expect(service.isFeatureEnabledForUser('174', name)).toBe(true);
    expect(service.isFeatureEnabledForUser('499', name)).toBe(false);
  });

  it('assigns the specification variants: against the sum of the weights, in order', () => {
    for (const v of vectors.unleash.variants) {
      const assigner = new UnleashVariantAssigner(
        v.feature,
        v.variants.map(([name, weight]) => ({ name, weight })),
        v.seed,
      );
      for (const c of v.cases) expect(assigner.assign(c.userId), `${v.feature} ${c.userId}`).toBe(c.variant);
    }
  });

  it('hashes "café" as unleash-client-node does, not as UTF-8', () => {
    const service = serviceWith('aiExtraction', 40, { algorithm: 'unleash' });
    const e = service.evaluate('café', 'aiExtraction');
    expect(e.bucketValue).toBe(37);
    expect(e.enabled).toBe(true); // 37 <= 40; the UTF-8 value 56 would be off
  });
});

describe('growthbook vectors', () => {
  it("matches GrowthBook's shared hash cases, version 1 and 2", () => {
    for (const v of vectors.growthbook.hash) {
      expect(growthbookHash(v.seed, v.value, v.version), `${v.seed}/${v.value}/v${v.version}`).toBe(
        v.expected,
      );
    }
  });

  it('decides force rules with coverage as the shared cases do (seed = feature key, version 1)', () => {
    for (const v of vectors.growthbook.forceRules) {
      const service = serviceWith(v.feature, v.coverage * 100, { algorithm: 'growthbook' });
      expect(service.isFeatureEnabledForUser(v.id, v.feature), v.description).toBe(v.on);
    }
  });

  it("computes GrowthBook's shared getBucketRange cases", () => {
    for (const v of vectors.growthbook.getBucketRange) {
      const ranges = growthbookBucketRanges(...v.args);
      expect(
        ranges.map(([a, b]) => [Number(a.toFixed(6)), Number(b.toFixed(6))]),
        v.description,
      ).toEqual(v.expected);
    }
  });

  it('is on when the hash is at most the coverage, including the boundary', () => {
    // ("foo", "ab", 2) = 0.2575: on at 25.75 %, off at 25.74 %.
    expect(
      serviceWith('f', 25.75, {
        algorithm: 'growthbook',
        seed: 'foo',
        hashVersion: 2,
      }).isFeatureEnabledForUser('ab', 'f'),
    ).toBe(true);
    expect(
      serviceWith('f', 25.74, {
        algorithm: 'growthbook',
        seed: 'foo',
        hashVersion: 2,
      }).isFeatureEnabledForUser('ab', 'f'),
    ).toBe(false);
    // ("", "a", 1) = 0.22: on at 22 %, off at 21.99 %.
    expect(
      serviceWith('f', 22, { algorithm: 'growthbook', seed: '' }).isFeatureEnabledForUser('a', 'f'),
    ).toBe(true);
    expect(
      serviceWith('f', 21.99, { algorithm: 'growthbook', seed: '' }).isFeatureEnabledForUser('a', 'f'),
    ).toBe(false);
  });
});

describe('flagd vectors', () => {
  it("hashes the test bed's edge keys to 0, 1, 2^31 - 1, 2^31 and 2^32 - 1", () => {
    for (const v of vectors.flagd.murmur3) expect(murmurUtf8Hash(v.key), v.key).toBe(v.hash);
  });

  it('assigns the fractional v2 variants of the test bed', () => {
    for (const flag of vectors.flagd.fractional) {
      for (const c of flag.cases)
        expect(fractional(flag.variants, flag.seed + c.key), `${flag.flag} ${c.key}`).toBe(c.variant);
    }
    const edge = vectors.flagd.hashEdge;
    for (const c of edge.cases) expect(fractional(edge.variants, c.key), c.key).toBe(c.variant);
  });

  it('puts the first variant of a fraction in the rollout: 50 % of the edge flag is "lower"', () => {
    const service = serviceWith('edge', 50, { algorithm: 'flagd', seed: '' });
    for (const c of vectors.flagd.hashEdge.cases) {
      expect(service.isFeatureEnabledForUser(c.key, 'edge'), c.key).toBe(c.variant === 'lower');
    }
  });

  it('at 25 % the rollout is the first quarter ("clubs") of fractional-flag', () => {
    const flag = vectors.flagd.fractional[0]!;
    const service = serviceWith('fractional-flag', 25, { algorithm: 'flagd' });
    for (const c of flag.cases) {
      expect(service.isFeatureEnabledForUser(c.key, 'fractional-flag'), c.key).toBe(c.variant === 'clubs');
    }
    const half = serviceWith('fractional-flag', 50, { algorithm: 'flagd' });
    for (const c of flag.cases) {
      expect(half.isFeatureEnabledForUser(c.key, 'fractional-flag'), c.key).toBe(
        c.variant === 'clubs' || c.variant === 'diamonds',
      );
    }
  });
});

describe('hash building blocks', () => {
  it('hashes the decimal digits of a 32-bit value as GrowthBook hashes String(value)', () => {
    const edges = [0, 1, 9, 10, 99_999, 100_000, 100_001, 1_000_000_000, 2_147_483_648, 4_294_967_295];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...edges), fc.nat({ max: 4_294_967_295 })), (value) => {
        expect(fnv1aDecimal(value)).toBe(fnv1a(0x811c9dc5, String(value)));
      }),
      { numRuns: 20_000 },
    );
  });
});
