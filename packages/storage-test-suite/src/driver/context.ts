import type { RolloutDriver } from '@canary-rollout/core/store-kit';
import { handlesPerTest } from '../internal/handles';
import type { DriverConformanceOptions, DriverHarness, DriverHarnessFactory } from './types';

/** What every driver concern file gets: the opened handles of the running test. */
export interface DriverContext {
  readonly changeTimeoutMs: number;
  readonly raceRounds: number;
  readonly reportsSetChanges: boolean;
  /** The opened driver of the running test. */
  readonly driver: RolloutDriver;
  /** The opened peer handle on the same data, made on first use. */
  peer(): Promise<RolloutDriver>;
  /** The harness's read counter, or undefined when it has none. */
  readonly logEntriesRead: (() => Promise<number>) | undefined;
}

/** Registers hooks that make, open, close and clean up a harness around each test. */
export function createDriverContext(
  factory: DriverHarnessFactory,
  options: DriverConformanceOptions,
): DriverContext {
  const handles = handlesPerTest<RolloutDriver, DriverHarness>(factory, (h) => h.driver);
  return {
    changeTimeoutMs: options.changeTimeoutMs ?? 5000,
    raceRounds: options.raceRounds ?? 10,
    reportsSetChanges: options.reportsSetChanges ?? true,
    get driver() {
      return handles.harness().driver;
    },
    peer: () => handles.peer(),
    get logEntriesRead() {
      return handles.harness().logEntriesRead;
    },
  };
}
