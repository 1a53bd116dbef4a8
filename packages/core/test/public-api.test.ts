import type {
  BetaUser,
  CanaryRolloutEvents,
  Evaluation,
  FeaturePaths,
  FeatureStatus,
  PlanStatus,
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

  it('offers variants and plans without breaking runFeature callers', () => {
    const service = new CanaryRolloutService();
    expectTypeOf(service.getVariant).toEqualTypeOf<(userId: string, feature: string) => string | null>();
    // An `enabled` that takes no variant still fits.
    expectTypeOf<{ enabled: () => string; fallback: () => string }>().toMatchTypeOf<FeaturePaths<string>>();
    expectTypeOf(service.runFeature<string>)
      .parameter(2)
      .toEqualTypeOf<FeaturePaths<string>>();
    expectTypeOf(service.getPlanStatus('f')).toEqualTypeOf<PlanStatus | null>();
    expectTypeOf(service.pausePlan).returns.toEqualTypeOf<Promise<PlanStatus>>();
    expectTypeOf(service.movePlan).returns.toEqualTypeOf<Promise<PlanStatus | undefined>>();
  });
});
