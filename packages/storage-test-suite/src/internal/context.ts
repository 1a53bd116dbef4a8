import type { RolloutStore } from '@canary-rollout/core';
import type { ConformanceOptions, CorruptionTarget, StoreHarness, StoreHarnessFactory } from '../types';
import { handlesPerTest } from './handles';

/** Options with their defaults filled in. */
export interface ResolvedOptions {
  readonly changeTimeoutMs: number;
  readonly propertyRuns: number;
}

/** What every concern file gets: the opened handles of the running test. */
export interface SuiteContext {
  readonly options: ResolvedOptions;
  /** The opened store of the running test. */
  readonly store: RolloutStore;
  /** The opened peer handle on the same data, made on first use. */
  peer(): Promise<RolloutStore>;
  /** Damages the stored data through the harness. */
  corrupt(target: CorruptionTarget): Promise<void>;
  /** Everything the store keeps at rest, or `undefined` when the harness cannot tell. */
  atRest(): Promise<Uint8Array | undefined>;
  /** The harness's `wipe`, or undefined when it has none. */
  readonly wipe: (() => Promise<void>) | undefined;
}

/** Fills in the defaults of `ConformanceOptions`. */
export function resolveOptions(options: ConformanceOptions = {}): ResolvedOptions {
  return {
    changeTimeoutMs: options.changeTimeoutMs ?? 5000,
    propertyRuns: options.propertyRuns ?? 25,
  };
}

/**
 * Registers hooks that make a harness and open its store before each test, and close every handle
 * and clean up after it. Must be called inside the suite's `describe`.
 */
export function createContext(factory: StoreHarnessFactory, options: ResolvedOptions): SuiteContext {
  const handles = handlesPerTest<RolloutStore, StoreHarness>(factory, (h) => h.store);
  return {
    options,
    get store() {
      return handles.harness().store;
    },
    peer: () => handles.peer(),
    corrupt(target) {
      return handles.harness().corrupt(target);
    },
    async atRest() {
      return handles.harness().atRest?.();
    },
    get wipe() {
      return handles.harness().wipe;
    },
  };
}
