import type { Snapshot } from '../evaluation/snapshot';
import { type MetricsSummary, mergeAll, summarize } from '../metrics/summary';
import type { CanaryConfig } from '../schemas/config';
import type { MetricBucket } from '../schemas/records';
import { evaluateHealth, thresholdsFor } from '../thresholds/evaluate';
import type { HealthLevel } from '../thresholds/types';

/** Metrics arm of the calls a rule with its own percentage turned on: `rule:<index>`. */
export const RULE_ARM_PREFIX = 'rule:';

/** The arm of rule `index`. */
export function ruleArm(index: number): string {
  return `${RULE_ARM_PREFIX}${index}`;
}

/** One rule with its own percentage in `getRolloutStatus()`. */
export interface RuleStatus {
  readonly index: number;
  readonly name: string;
  readonly rolloutPercentage: number;
  /** Usage over the window of the calls this rule turned on (recorded by `trackUsage`). */
  readonly metrics: MetricsSummary;
  /** The rule's calls judged by the feature's thresholds; reported only, the monitor judges the feature whole. */
  readonly health: HealthLevel;
}

/** Per rule with its own percentage, its window and health; undefined for features without one. */
export function ruleStatuses(
  snapshot: Snapshot,
  feature: string,
  buckets: readonly MetricBucket[],
  config: CanaryConfig,
): RuleStatus[] | undefined {
  const f = snapshot.features.get(feature);
  const rules = f?.rules;
  if (f === undefined || rules === null || rules === undefined) return undefined;
  const out: RuleStatus[] = [];
  for (const rule of rules) {
    if (f.record.rules?.[rule.index]?.rolloutPercentage === undefined) continue;
    const arm = ruleArm(rule.index);
    const metrics = summarize(
      mergeAll(
        buckets.filter((b) => b.arm === arm),
        feature,
        arm,
      ),
    );
    const verdict = evaluateHealth({ window: metrics, thresholds: thresholdsFor(config, feature) });
    out.push({
      index: rule.index,
      name: rule.name,
      rolloutPercentage: rule.rolloutPercentage,
      metrics,
      health: verdict.level,
    });
  }
  return out.length === 0 ? undefined : out;
}
