import type { RolloutStore } from '@canary-rollout/core';
import {
  type ConformanceOptions,
  type CorruptionTarget,
  describeStoreConformance,
  type StoreHarness,
  type StoreHarnessFactory,
} from '@canary-rollout/storage-test-suite';
import { describe, expectTypeOf, it } from 'vitest';

describe('public API types', () => {
  it('takes a name, a harness factory and optional options', () => {
    expectTypeOf(describeStoreConformance).parameters.toEqualTypeOf<
      [name: string, factory: StoreHarnessFactory, options?: ConformanceOptions]
    >();
    expectTypeOf(describeStoreConformance).returns.toEqualTypeOf<void>();
  });

  it('names the two corruption targets', () => {
    expectTypeOf<CorruptionTarget>().toEqualTypeOf<'features' | 'users'>();
  });

  it('describes the harness a factory returns', () => {
    expectTypeOf<StoreHarnessFactory>().returns.toEqualTypeOf<Promise<StoreHarness>>();
    expectTypeOf<StoreHarness['store']>().toEqualTypeOf<RolloutStore>();
    expectTypeOf<StoreHarness['peer']>().toEqualTypeOf<() => Promise<RolloutStore>>();
    expectTypeOf<StoreHarness['corrupt']>().parameters.toEqualTypeOf<[target: CorruptionTarget]>();
    expectTypeOf<StoreHarness['cleanup']>().toEqualTypeOf<(() => Promise<void>) | undefined>();
    expectTypeOf<ConformanceOptions>().toEqualTypeOf<{
      readonly changeTimeoutMs?: number;
      readonly propertyRuns?: number;
    }>();
  });
});
