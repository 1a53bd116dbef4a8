import { type MetricsSummary, mergeAll, summarize } from '../metrics/summary';
import type { CanaryConfig } from '../schemas/config';
import type { FeatureRecord, MetricBucket } from '../schemas/records';
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
  record: FeatureRecord,
  buckets: readonly MetricBucket[],
  config: CanaryConfig,
): RuleStatus[] | undefined {
  const rules = record.rules;
  if (rules === undefined) return undefined;
  const out: RuleStatus[] = [];
  for (const [index, rule] of rules.entries()) {
    if (rule.rolloutPercentage === undefined) continue;
    const arm = ruleArm(index);
    const metrics = summarize(
      mergeAll(
        buckets.filter((b) => b.arm === arm),
        record.name,
        arm,
      ),
    );
    const verdict = evaluateHealth({ window: metrics, thresholds: thresholdsFor(config, record.name) });
    out.push({
      index,
      name: rule.name ?? `rule ${index + 1}`,
      rolloutPercentage: rule.rolloutPercentage,
      metrics,
      health: verdict.level,
    });
  }
  return out.length === 0 ? undefined : out;
}
