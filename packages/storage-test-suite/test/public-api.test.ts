import type { RolloutStore } from '@canary-rollout/core';
import type { RolloutDriver } from '@canary-rollout/core/store-kit';
import {
  type ConformanceOptions,
  type CorruptionTarget,
  type DriverConformanceOptions,
  type DriverHarness,
  type DriverHarnessFactory,
  describeDriverConformance,
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

  it('takes a driver harness factory for the driver suite', () => {
    expectTypeOf(describeDriverConformance).parameters.toEqualTypeOf<
      [name: string, factory: DriverHarnessFactory, options?: DriverConformanceOptions]
    >();
    expectTypeOf<DriverHarnessFactory>().returns.toEqualTypeOf<Promise<DriverHarness>>();
    expectTypeOf<DriverHarness['driver']>().toEqualTypeOf<RolloutDriver>();
    expectTypeOf<DriverHarness['peer']>().toEqualTypeOf<() => Promise<RolloutDriver>>();
    expectTypeOf<DriverHarness['logEntriesRead']>().toEqualTypeOf<(() => Promise<number>) | undefined>();
    expectTypeOf<DriverConformanceOptions>().toEqualTypeOf<{
      readonly changeTimeoutMs?: number;
      readonly raceRounds?: number;
      readonly reportsSetChanges?: boolean;
    }>();
  });
});
