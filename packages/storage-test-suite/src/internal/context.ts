import type { RolloutStore } from '@canary-rollout/core';
import { afterEach, beforeEach } from 'vitest';
import type { ConformanceOptions, CorruptionTarget, StoreHarness, StoreHarnessFactory } from '../types';

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
  let harness: StoreHarness | undefined;
  let peer: Promise<RolloutStore> | undefined;
  const opened: RolloutStore[] = [];

  beforeEach(async () => {
    harness = await factory();
    // Listed before opening: a store whose open fails half-way is still closed.
    opened.push(harness.store);
    await harness.store.open();
  });

  afterEach(async () => {
    const current = harness;
    // A peer still opening is waited for, so it is closed too rather than leaking into the next test.
    await peer?.catch(() => undefined);
    const handles = opened.splice(0).reverse();
    harness = undefined;
    peer = undefined;
    // Every handle is closed and cleanup runs even when one of them fails; the first failure is reported.
    const failures: unknown[] = [];
    for (const handle of handles) await handle.close().catch((error: unknown) => failures.push(error));
    await current?.cleanup?.().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  });

  const active = (): StoreHarness => {
    if (harness === undefined)
      throw new Error('@canary-rollout/storage-test-suite: the store exists only while a test runs');
    return harness;
  };

  return {
    options,
    get store() {
      return active().store;
    },
    peer() {
      if (peer === undefined) {
        const source = active();
        peer = (async () => {
          const handle = await source.peer();
          opened.push(handle);
          await handle.open();
          return handle;
        })();
      }
      return peer;
    },
    corrupt(target) {
      return active().corrupt(target);
    },
    async atRest() {
      return active().atRest?.();
    },
    get wipe() {
      return active().wipe;
    },
  };
}
