// Until the driver contract lands in `@canary-rollout/core/store-kit`.

export { mergeMetricBuckets, notifyListeners } from '@canary-rollout/core';
export type {
  DriverCollection,
  DriverCommit,
  DriverCommitResult,
  DriverEntry,
  DriverExpectation,
  DriverLog,
  DriverLogQuery,
  DriverReadRequest,
  DriverSet,
  DriverSnapshot,
  RolloutDriver,
} from '../../../core/src/storage/driver';
