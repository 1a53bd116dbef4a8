import {
  type CanaryConfigInput,
  CanaryRolloutService,
  type Decision,
  type Evaluation,
  type RegisteredFeatureName,
} from '@canary-rollout/core';
import { describe, expect, expectTypeOf, it } from 'vitest';

const config = {
  canaryRollout: {
    features: {
      aiExtraction: {
        enabled: true,
        rolloutPercentage: 25,
        rules: [{ constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] }],
      },
      ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' },
    },
  },
} as const;

describe('typed feature names', () => {
  it('a config given in code `as const` types the service by its feature names', async () => {
    const service = new CanaryRolloutService({ config });
    expectTypeOf(service).toEqualTypeOf<CanaryRolloutService<'aiExtraction' | 'ocrFallback'>>();
    expectTypeOf(service.isFeatureEnabledForUser)
      .parameter(1)
      .toEqualTypeOf<'aiExtraction' | 'ocrFallback'>();
    expectTypeOf(service.isEnabled).parameter(0).toEqualTypeOf<'aiExtraction' | 'ocrFallback'>();
    expectTypeOf(service.getDecision('aiExtraction', { userId: 'u' })).toEqualTypeOf<Decision>();
    expectTypeOf(service.explain('ocrFallback', { userId: 'u' })).toEqualTypeOf<Evaluation>();
    expectTypeOf(service.featureNames()).toEqualTypeOf<('aiExtraction' | 'ocrFallback')[]>();
    // @ts-expect-error a misspelt name does not compile
    service.isFeatureEnabledForUser('u', 'aiExtractoin');
    // @ts-expect-error nor here
    service.isEnabled('ocrFalback', { userId: 'u' });
    // @ts-expect-error nor in a write
    await expect(service.updateRolloutPercentage('aiExtration', 10)).rejects.toThrow();
    const created = await CanaryRolloutService.create({ config });
    expectTypeOf(created).toEqualTypeOf<CanaryRolloutService<'aiExtraction' | 'ocrFallback'>>();
    // The names are types only: at run time an unknown name still answers off, as before.
    expect(created.isFeatureEnabledForUser('u', 'nope' as 'aiExtraction')).toBe(false);
    await created.close();
  });

  it('a config from a file, or typed as the input type, leaves names as strings', () => {
    // Never called: a path is read at construction.
    const fromFile = () => new CanaryRolloutService({ config: 'config/canary-rollout.json' });
    expectTypeOf(fromFile).returns.toEqualTypeOf<CanaryRolloutService<RegisteredFeatureName>>();
    expectTypeOf<RegisteredFeatureName>().toEqualTypeOf<string>();
    const input: CanaryConfigInput = { canaryRollout: { features: { a: {} } } };
    const wide = new CanaryRolloutService<string>({ config: input });
    expectTypeOf(wide.isFeatureEnabledForUser).parameter(1).toEqualTypeOf<string>();
    expectTypeOf(new CanaryRolloutService().evaluate).parameter(1).toEqualTypeOf<string>();
  });

  it('a typed service is still a CanaryRolloutService for the packages that take one', () => {
    const typed = new CanaryRolloutService({ config });
    const takesAny = (service: CanaryRolloutService) => service.featureNames().length;
    expect(takesAny(typed)).toBe(2);
  });
});
