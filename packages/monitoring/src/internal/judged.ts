import type { FeatureRecord, HealthVerdict, MetricsSummary } from '@canary-rollout/core';

/** A feature as judged in one tick: the record (and version) judged, its window and the verdict. */
export interface Judged {
  readonly record: FeatureRecord;
  readonly window: MetricsSummary;
  readonly verdict: HealthVerdict;
}
