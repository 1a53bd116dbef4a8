import type { BetaUser, MetricBucket } from '@canary-rollout/core';
import type { FeatureWrite } from '@canary-rollout/core/store-kit';

/** A whole minute some hours back: metric buckets stay well inside any retention. */
export const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3_600_000;

export function feature(overrides: Partial<FeatureWrite> = {}): FeatureWrite {
  const name = overrides.name ?? 'search';
  return {
    name,
    enabled: true,
    rolloutPercentage: 25,
    rolloutStrategy: 'gradual',
    salt: name,
    updatedAt: T0,
    stageStartedAt: T0,
    ...overrides,
  };
}

let n = 0;
export function user(overrides: Partial<BetaUser> = {}): BetaUser {
  n += 1;
  return {
    id: `user-${n}`,
    email: `Person.${n}@Example.com`,
    name: `Person ${n}`,
    interests: [],
    createdAt: T0 + n,
    ...overrides,
  };
}

export function bucket(overrides: Partial<MetricBucket> = {}): MetricBucket {
  return {
    feature: 'search',
    arm: 'treatment',
    bucketStart: T0,
    calls: 10,
    successes: 9,
    failures: 1,
    latencyCount: 10,
    latencySumMs: 1200.5,
    histogram: { '40': 6, '48': 4 },
    users: { '7': 3, '300': 5 },
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export { codeOf } from '@canary-rollout/storage-test-suite';
