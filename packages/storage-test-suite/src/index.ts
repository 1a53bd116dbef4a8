import { describe } from 'vitest';
import { describeAudit } from './audit';
import { describeBetaAndBlacklist } from './beta-and-blacklist';
import { describeChanges } from './changes';
import { describeCorruption } from './corruption';
import { describeErasure } from './erasure';
import { describeFeatures } from './features';
import { describeFeedback } from './feedback';
import { createContext, resolveOptions } from './internal/context';
import { describeLifecycle } from './lifecycle';
import { describeLogs } from './logs';
import { describeMeta } from './meta';
import { describeMetricBatches } from './metric-batches';
import { describeMetrics } from './metrics';
import { describePrototypeNames } from './prototype-names';
import { describeRaces } from './races';
import { describeRollback } from './rollback';
import { describeRoundTrip } from './round-trip';
import { describeStateLoss } from './state-loss';
import type { ConformanceOptions, StoreHarnessFactory } from './types';
import { describeUserIds } from './user-ids';
import { describeUsers } from './users';

export { describeDriverConformance } from './driver/index';
export type { DriverConformanceOptions, DriverHarness, DriverHarnessFactory } from './driver/types';
export {
  codeOf,
  type ProbeResult,
  probeDuring,
  ServiceTraffic,
  type TrafficService,
} from './helpers/outage';
export { TcpProxy } from './helpers/tcp-proxy';
export { type WorkerEvent, WorkerProcess } from './helpers/worker-process';
export type { ConformanceOptions, CorruptionTarget, StoreHarness, StoreHarnessFactory } from './types';

/**
 * Registers the conformance suite of the `RolloutStore` contract as a vitest `describe` block named
 * `name`. `factory` is called before every test and must return a harness on fresh, empty data;
 * the suite opens and closes the handles itself. Call it at the top level of a test file.
 */
export function describeStoreConformance(
  name: string,
  factory: StoreHarnessFactory,
  options: ConformanceOptions = {},
): void {
  describe(`${name} conforms to RolloutStore`, () => {
    const ctx = createContext(factory, resolveOptions(options));
    describeLifecycle(ctx);
    describeFeatures(ctx);
    describeUsers(ctx);
    describeBetaAndBlacklist(ctx);
    describeFeedback(ctx);
    describeMetrics(ctx);
    describeMetricBatches(ctx);
    describeLogs(ctx);
    describeMeta(ctx);
    describeRollback(ctx);
    describeRaces(ctx);
    describeChanges(ctx);
    describeCorruption(ctx);
    describeRoundTrip(ctx);
    describeAudit(ctx);
    describeUserIds(ctx);
    describeErasure(ctx);
    describePrototypeNames(ctx);
    describeStateLoss(ctx);
  });
}
