import type { RolloutDriver } from '@canary-rollout/core/store-kit';
import { afterEach, beforeEach } from 'vitest';
import type { DriverConformanceOptions, DriverHarness, DriverHarnessFactory } from './types';

/** What every driver concern file gets: the opened handles of the running test. */
export interface DriverContext {
  readonly changeTimeoutMs: number;
  readonly raceRounds: number;
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
  let harness: DriverHarness | undefined;
  let peer: Promise<RolloutDriver> | undefined;
  const opened: RolloutDriver[] = [];

  beforeEach(async () => {
    harness = await factory();
    opened.push(harness.driver);
    await harness.driver.open();
  });

  afterEach(async () => {
    const current = harness;
    await peer?.catch(() => undefined);
    const handles = opened.splice(0).reverse();
    harness = undefined;
    peer = undefined;
    const failures: unknown[] = [];
    for (const handle of handles) await handle.close().catch((error: unknown) => failures.push(error));
    await current?.cleanup?.().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  });

  const active = (): DriverHarness => {
    if (harness === undefined)
      throw new Error('@canary-rollout/storage-test-suite: the driver exists only while a test runs');
    return harness;
  };

  return {
    changeTimeoutMs: options.changeTimeoutMs ?? 5000,
    raceRounds: options.raceRounds ?? 10,
    get driver() {
      return active().driver;
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
    get logEntriesRead() {
      return active().logEntriesRead;
    },
  };
}
