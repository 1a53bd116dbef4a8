import type { FeatureRecord, MetricBucket, MetricsSummary } from '@canary-rollout/core';
import type { HealthVerdict } from '@canary-rollout/core/monitor-kit';
import type { FeatureComparison } from '../types';
import type { ArmTotals } from './cumulative';

/** A feature as one tick judged it: the record (and version) judged, its window and the verdict. */
export interface FeatureVerdict {
  readonly record: FeatureRecord;
  readonly window: MetricsSummary;
  /** The counts behind `window`, for the fleet-wide figures. */
  readonly counts: MetricBucket;
  /** The thresholds' verdict with the comparison's findings added. */
  readonly verdict: HealthVerdict;
  /** True when the thresholds alone were critical (the rollback's cause is then `feature`). */
  readonly thresholdCritical: boolean;
  /** Treatment against control since the stage began, when compared. */
  readonly comparison?: FeatureComparison | undefined;
  /** The arms since the stage began, when read. */
  readonly arms?: ArmTotals | undefined;
}
