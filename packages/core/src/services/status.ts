import type { Snapshot } from '../evaluation/snapshot';
import { TREATMENT_ARM } from '../metrics/arm-names';
import { type MetricsSummary, mergeAll, summarize } from '../metrics/summary';
import type { CanaryConfig } from '../schemas/config';
import type { RolloutStrategy } from '../schemas/names';
import type { FeatureRecord, MetricBucket } from '../schemas/records';
import type { MetaRecord, RolloutState } from '../storage/types';
import { HEALTH_MARK_PREFIX, raiseAllowance } from '../thresholds/stability';
import { minStableTimeFor } from './raise-guards';
import { RULE_ARM_PREFIX, type RuleStatus, ruleStatuses } from './rule-health';
import { featureFromConfig } from './seeding';

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

/** What `buildRolloutStatus` reads: all of it data, so the status is a pure function of it. */
export interface RolloutStatusInput {
  /** The store's state; `withConfigFeatures` adds the config's features it lacks, as the app would. */
  readonly state: RolloutState;
  /** Metric buckets of the window (`readMetrics(now - windowMs)`); other arms and older buckets are ignored. */
  readonly buckets: readonly MetricBucket[];
  readonly config: CanaryConfig;
  /** Time of the status (epoch ms). */
  readonly now: number;
  /**
   * The features' health marks, for `nextRaiseAllowedAt`: `store.readMeta(HEALTH_MARK_PREFIX)`
   * (meta records under other keys are ignored; `[]` when none are known).
   */
  readonly healthMarks: readonly MetaRecord[];
}

/**
 * The guide's status from store state and metric buckets, without a running service: the same
 * figures `getRolloutStatus()` gives for the same state and buckets.
 */
export function buildRolloutStatus(input: RolloutStatusInput): RolloutStatus {
  const { state } = input;
  const features = state.features.map((record) => ({
    record,
    betaUsers: Object.hasOwn(state.beta, record.name) ? (state.beta[record.name]?.length ?? 0) : 0,
  }));
  return statusOf(features, {
    enabled: input.config.canaryRollout.enabled,
    blacklistedUsers: new Set(state.blacklist).size,
    buckets: input.buckets,
    healthMarks: input.healthMarks,
    now: input.now,
    config: input.config,
  });
}

/**
 * `state` plus the config's features it does not hold, each as the app's next start would create
 * it at `now`: what the app will serve once it runs.
 */
export function withConfigFeatures(state: RolloutState, config: CanaryConfig, now: number): RolloutState {
  const stored = new Set(state.features.map((f) => f.name));
  const added = Object.entries(config.canaryRollout.features)
    .filter(([name]) => !stored.has(name))
    .map(([name, settings]): FeatureRecord => ({ ...featureFromConfig(name, settings, now), version: 1 }));
  return added.length === 0 ? state : { ...state, features: [...state.features, ...added] };
}

/** The status of a service's snapshot and its buckets (fleet-wide plus local). */
export function buildStatus(input: {
  snapshot: Snapshot;
  buckets: readonly MetricBucket[];
  healthMarks: readonly MetaRecord[];
  now: number;
  config: CanaryConfig;
}): RolloutStatus {
  const { snapshot } = input;
  const features = [...snapshot.features.values()].map((f) => ({
    record: f.record,
    betaUsers: f.beta?.size ?? 0,
  }));
  return statusOf(features, {
    enabled: snapshot.enabled,
    blacklistedUsers: snapshot.blacklist.size,
    buckets: input.buckets,
    healthMarks: input.healthMarks,
    now: input.now,
    config: input.config,
  });
}

function statusOf(
  records: readonly { readonly record: FeatureRecord; readonly betaUsers: number }[],
  input: {
    enabled: boolean;
    blacklistedUsers: number;
    buckets: readonly MetricBucket[];
    healthMarks: readonly MetaRecord[];
    now: number;
    config: CanaryConfig;
  },
): RolloutStatus {
  const { now, config } = input;
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
  const marks = new Map<string, unknown>();
  for (const mark of input.healthMarks) {
    if (mark.key.startsWith(HEALTH_MARK_PREFIX))
      marks.set(mark.key.slice(HEALTH_MARK_PREFIX.length), mark.value);
  }
  const features: Record<string, FeatureStatus> = Object.create(null);
  for (const { record, betaUsers } of records) {
    const name = record.name;
    const minStableTime = minStableTimeFor(config, name);
    features[name] = {
      name,
      enabled: record.enabled,
      rolloutPercentage: record.rolloutPercentage,
      rolloutStrategy: record.rolloutStrategy,
      betaUsers,
      version: record.version,
      stageStartedAt: record.stageStartedAt,
      nextRaiseAllowedAt: raiseAllowance(record, minStableTime, now, marks.get(name))?.allowedAt ?? null,
      lastRollbackAt: record.lastRollbackAt ?? null,
      metrics: summarize(mergeAll(byFeature.get(name) ?? [], name, TREATMENT_ARM)),
    };
    const rules = ruleStatuses(record, ruleBuckets.get(name) ?? [], config);
    if (rules !== undefined) features[name] = { ...features[name], rules };
  }
  return {
    enabled: input.enabled,
    generatedAt: now,
    windowMs,
    blacklistedUsers: input.blacklistedUsers,
    features,
  };
}
