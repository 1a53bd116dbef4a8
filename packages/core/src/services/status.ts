import type { Snapshot } from '../evaluation/snapshot';
import { TREATMENT_ARM } from '../metrics/aggregator';
import { type MetricsSummary, mergeAll, summarize } from '../metrics/summary';
import type { CanaryConfig } from '../schemas/config';
import type { RolloutStrategy } from '../schemas/names';
import type { MetricBucket } from '../schemas/records';
import { raiseAllowance } from '../thresholds/stability';
import { RULE_ARM_PREFIX, type RuleStatus, ruleStatuses } from './rule-health';

/** One feature in `getRolloutStatus()`. */
export interface FeatureStatus {
  readonly name: string;
  readonly enabled: boolean;
  readonly rolloutPercentage: number;
  readonly rolloutStrategy: RolloutStrategy;
  /** Users in the beta list. */
  readonly betaUsers: number;
  readonly version: number;
  /** When the current percentage and strategy took effect (epoch ms). */
  readonly stageStartedAt: number;
  /**
   * When a raise is allowed by minStableTime (epoch ms); null when no guard applies. While a
   * monitor judges the feature unhealthy, the earliest it could be (now + minStableTime).
   */
  readonly nextRaiseAllowedAt: number | null;
  readonly lastRollbackAt: number | null;
  /** Usage over the window (the feature's own calls, all processes). */
  readonly metrics: MetricsSummary;
  /** Per rule with its own percentage: its calls and health (the monitor still judges the feature whole). */
  readonly rules?: readonly RuleStatus[];
}

/** The guide's `getRolloutStatus()` result. */
export interface RolloutStatus {
  /** The system switch (`canaryRollout.enabled`). */
  readonly enabled: boolean;
  readonly generatedAt: number;
  /** Length of the metrics window (ms). */
  readonly windowMs: number;
  readonly blacklistedUsers: number;
  /** Feature name to its status (an object without prototype). */
  readonly features: Readonly<Record<string, FeatureStatus>>;
}

/** Builds the status from a snapshot and metric buckets (fleet-wide plus local). */
export function buildStatus(input: {
  snapshot: Snapshot;
  buckets: readonly MetricBucket[];
  now: number;
  config: CanaryConfig;
}): RolloutStatus {
  const { snapshot, now, config } = input;
  const windowMs = config.canaryRollout.thresholds.windowMs;
  const since = now - windowMs;
  const byFeature = new Map<string, MetricBucket[]>();
  const ruleBuckets = new Map<string, MetricBucket[]>();
  for (const bucket of input.buckets) {
    if (bucket.bucketStart >= since && bucket.arm.startsWith(RULE_ARM_PREFIX)) {
      const list = ruleBuckets.get(bucket.feature);
      if (list === undefined) ruleBuckets.set(bucket.feature, [bucket]);
      else list.push(bucket);
    }
    if (bucket.arm !== TREATMENT_ARM || bucket.bucketStart < since) continue;
    let list = byFeature.get(bucket.feature);
    if (list === undefined) {
      list = [];
      byFeature.set(bucket.feature, list);
    }
    list.push(bucket);
  }
  const features: Record<string, FeatureStatus> = Object.create(null);
  for (const [name, f] of snapshot.features) {
    const record = f.record;
    const minStableTime =
      config.canaryRollout.features[name]?.minStableTime ?? config.canaryRollout.thresholds.minStableTime;
    features[name] = {
      name,
      enabled: record.enabled,
      rolloutPercentage: record.rolloutPercentage,
      rolloutStrategy: record.rolloutStrategy,
      betaUsers: f.beta?.size ?? 0,
      version: record.version,
      stageStartedAt: record.stageStartedAt,
      nextRaiseAllowedAt: raiseAllowance(record, minStableTime, now)?.allowedAt ?? null,
      lastRollbackAt: record.lastRollbackAt ?? null,
      metrics: summarize(mergeAll(byFeature.get(name) ?? [], name, TREATMENT_ARM)),
    };
    const rules =
      f.rules === null ? undefined : ruleStatuses(snapshot, name, ruleBuckets.get(name) ?? [], config);
    if (rules !== undefined) features[name] = { ...features[name], rules };
  }
  return {
    enabled: snapshot.enabled,
    generatedAt: now,
    windowMs,
    blacklistedUsers: snapshot.blacklist.size,
    features,
  };
}
