import type { FeatureWrite } from '@canary-rollout/core/store-kit';

/** A valid feature write with overrides. */
export function feature(overrides: Partial<FeatureWrite> = {}): FeatureWrite {
  return {
    name: 'search',
    enabled: true,
    rolloutPercentage: 25,
    rolloutStrategy: 'gradual',
    salt: 'search',
    updatedAt: 1_000,
    stageStartedAt: 1_000,
    ...overrides,
  };
}
