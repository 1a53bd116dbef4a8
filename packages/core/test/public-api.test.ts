import type {
  BetaUser,
  CanaryRolloutEvents,
  Evaluation,
  FeatureStatus,
  RolloutStatus,
  RolloutStore,
} from '@canary-rollout/core';
import { BetaUserService, CanaryRolloutService, MemoryStore } from '@canary-rollout/core';
import { describe, expectTypeOf, it } from 'vitest';

describe('public API types', () => {
  it("matches the guide's calls", () => {
    const service = new CanaryRolloutService();
    expectTypeOf(service.isFeatureEnabledForUser).toEqualTypeOf<
      (userId: string, feature: string) => boolean
    >();
    expectTypeOf(service.evaluate('u', 'f')).toEqualTypeOf<Evaluation>();
    expectTypeOf(service.getRolloutStatus()).toEqualTypeOf<RolloutStatus>();
    expectTypeOf(service.getRolloutStatus().features['aiExtraction']).toEqualTypeOf<
      FeatureStatus | undefined
    >();
    expectTypeOf(service.addBetaUser).returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(service.trackFeatureUsage).parameter(2).toMatchTypeOf<{
      calls?: number;
      successfulCalls?: number;
      failedCalls?: number;
      latency?: number;
    }>();
    expectTypeOf(new BetaUserService().registerUser).returns.toEqualTypeOf<Promise<BetaUser>>();
    expectTypeOf<CanaryRolloutEvents['rollback']>().toMatchTypeOf<[unknown]>();
    expectTypeOf(new MemoryStore()).toMatchTypeOf<RolloutStore>();
  });
});
