import { describe } from 'vitest';
import { describeDriverChanges } from './changes';
import { describeDriverCommits } from './commits';
import { createDriverContext } from './context';
import { describeDriverEntries } from './entries';
import { describeDriverLogs } from './logs';
import { describeDriverMetrics } from './metrics';
import { describeDriverSets } from './sets';
import type { DriverConformanceOptions, DriverHarnessFactory } from './types';

/**
 * Registers the conformance suite of the `RolloutDriver` contract as a vitest `describe` block
 * named `name`. `factory` is called before every test and must return a harness on fresh, empty
 * data. Run the store suite (`describeStoreConformance`) on `createRolloutStore(driver)` too.
 */
export function describeDriverConformance(
  name: string,
  factory: DriverHarnessFactory,
  options: DriverConformanceOptions = {},
): void {
  describe(`${name} conforms to RolloutDriver`, () => {
    const ctx = createDriverContext(factory, options);
    describeDriverEntries(ctx);
    describeDriverCommits(ctx);
    describeDriverSets(ctx);
    describeDriverLogs(ctx);
    describeDriverMetrics(ctx);
    describeDriverChanges(ctx);
  });
}
