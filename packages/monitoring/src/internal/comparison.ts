import type { ExperimentsConfig, FeatureRecord, MetricBucket, VariantConfig } from '@canary-rollout/core';
import {
  BETA_ARM,
  CONTROL_ARM,
  type ComparisonVerdict,
  checkSampleRatio,
  compareArms,
  expectedArmShares,
  percentageToThreshold,
  TREATMENT_ARM,
  USER_ESTIMATE_RELATIVE_ERROR,
  variantArm,
} from '@canary-rollout/core/experiments';
import { type Finding, hllEstimate, withoutPart } from '@canary-rollout/core/monitor-kit';
import { emptyMetricBucket } from '@canary-rollout/core/store-kit';
import type { ArmsComparison, CallRatioSummary, FeatureComparison, SampleRatioSummary } from '../types';
import { callMismatchFinding, mismatchFinding, summarize, worseFindings } from './comparison-report';
import type { ArmTotals } from './cumulative';

/** What the comparison of one feature found this tick. */
export interface ComparisonOutcome {
  readonly comparison: FeatureComparison;
  /** `treatment-worse` (warning, or critical under `rollback`) and `sample-ratio-mismatch` (warning). */
  readonly findings: readonly Finding[];
}

/**
 * Compares a feature's treatment with its control (and its variants with the first one) on the
 * metrics since the stage began. The verdict counts the metrics in `settings.metrics`, each
 * distinct test one-sided at alpha / their number (error and success rate are one test where every
 * call failed or succeeded), so the chance of a false 'worse' over the stage is at most alpha;
 * 'better' is a report. The other metrics are reported with their own verdicts at the same level.
 * Beta members' calls are taken out of the treatment: only users the bucket decided are compared.
 * Undefined when there is nothing to compare.
 */
export function judgeComparison(
  record: FeatureRecord,
  arms: ArmTotals,
  settings: ExperimentsConfig,
  variants: readonly VariantConfig[] | undefined,
): ComparisonOutcome | undefined {
  if (settings.comparison === 'off' || !record.enabled) return undefined;
  const counted = new Set(settings.metrics);
  const options = { alpha: settings.alpha / distinctSignals(counted, arms), minSamples: settings.minSamples };
  const findings: Finding[] = [];
  const threshold = percentageToThreshold(record.rolloutPercentage);
  const shares = record.rolloutStrategy === 'gradual' ? expectedArmShares(threshold) : null;
  let control: ArmsComparison | null = null;
  let sampleRatio: SampleRatioSummary | null = null;
  if (shares !== null) {
    const beta = arms.get(BETA_ARM);
    const treatment = withoutPart(armOf(arms, TREATMENT_ARM, record.name), beta);
    const controlArm = armOf(arms, CONTROL_ARM, record.name);
    const result = compareArms(treatment, controlArm, options);
    control = summarize(result, counted, TREATMENT_ARM, CONTROL_ARM, treatment, controlArm);
    // Users, not calls: a user is assigned once. Beta members' users cannot be taken out of the
    // estimate exactly; the check is loosened by their share instead. No control calls at all
    // means the app records no control (trackFeatureUsage alone), not a broken split.
    const betaUsers = beta === undefined ? 0 : hllEstimate(beta.users);
    const treatmentUsers = Math.max(0, hllEstimate(arms.get(TREATMENT_ARM)?.users ?? {}) - betaUsers);
    const weights = { [TREATMENT_ARM]: shares.treatment, [CONTROL_ARM]: shares.control };
    sampleRatio =
      controlArm.calls === 0
        ? null
        : {
            ...sampleRatioOf(
              { [TREATMENT_ARM]: treatmentUsers, [CONTROL_ARM]: control.control.users },
              weights,
              settings,
              treatmentUsers > 0 ? 1 + betaUsers / treatmentUsers : 1,
            ),
            calls: callRatioOf(
              treatment,
              controlArm,
              treatmentUsers + control.control.users,
              weights,
              settings,
            ),
          };
    if (sampleRatio?.mismatch === true) {
      findings.push(mismatchFinding(sampleRatio, 'treatment and control'));
    } else {
      if (control.verdict === 'worse') {
        findings.push(
          ...worseFindings(control, counted, settings.comparison === 'rollback' ? 'critical' : 'warning'),
        );
      }
      // Calls can shift because of the treatment itself (retries, users giving up), so a skew of
      // calls is reported but does not keep the monitor from acting on a worse verdict.
      if (sampleRatio?.calls?.mismatch === true) findings.push(callMismatchFinding(sampleRatio.calls));
    }
  }
  const variantsComparison = compareVariants(record, arms, settings, variants, options, counted);
  if (variantsComparison?.sampleRatio.mismatch === true) {
    findings.push(mismatchFinding(variantsComparison.sampleRatio, 'variants'));
  }
  if (control === null && variantsComparison === undefined) return undefined;
  return {
    comparison: {
      since: record.stageStartedAt,
      verdict: control?.verdict ?? null,
      treatmentVsControl: control,
      sampleRatio,
      ...(variantsComparison === undefined ? {} : { variants: variantsComparison }),
    },
    findings,
  };
}

function compareVariants(
  record: FeatureRecord,
  arms: ArmTotals,
  settings: ExperimentsConfig,
  variants: readonly VariantConfig[] | undefined,
  options: { alpha: number; minSamples: number },
  counted: ReadonlySet<string>,
): FeatureComparison['variants'] | undefined {
  if (variants === undefined || variants.length < 2) return undefined;
  const [baseline, ...others] = variants as [VariantConfig, ...VariantConfig[]];
  const baseArm = armOf(arms, variantArm(baseline.name), record.name);
  if (baseArm.calls === 0 && others.every((v) => (arms.get(variantArm(v.name))?.calls ?? 0) === 0)) {
    return undefined;
  }
  const comparisons = others.map((v) => {
    const arm = armOf(arms, variantArm(v.name), record.name);
    const result = compareArms(arm, baseArm, options);
    return summarize(result, counted, variantArm(v.name), variantArm(baseline.name), arm, baseArm);
  });
  const observed: Record<string, number> = {};
  const weights: Record<string, number> = {};
  for (const v of variants) {
    observed[v.name] = hllEstimate(arms.get(variantArm(v.name))?.users ?? {});
    weights[v.name] = v.weight;
  }
  return { baseline: baseline.name, comparisons, sampleRatio: sampleRatioOf(observed, weights, settings, 1) };
}

/**
 * The number of distinct tests among the counted metrics: where every call of every arm either
 * failed or succeeded (as with `runFeature`), the success rate is one minus the error rate and
 * `compareRates` gives both the same verdict, so they share one test and alpha is not split.
 */
function distinctSignals(counted: ReadonlySet<string>, arms: ArmTotals): number {
  if (!(counted.has('error-rate') && counted.has('success-rate'))) return counted.size;
  for (const bucket of arms.values()) {
    if (bucket.successes + bucket.failures !== bucket.calls) return counted.size;
  }
  return counted.size - 1;
}

/**
 * The split of calls, counted exactly. Calls are not single draws: a user makes several, so the
 * variance is widened by the dispersion of calls per user, estimated as 1 + calls per user (users
 * calling at random times around a common rate); a few very heavy users spread calls wider.
 */
function callRatioOf(
  treatment: MetricBucket,
  control: MetricBucket,
  users: number,
  weights: Record<string, number>,
  settings: ExperimentsConfig,
): CallRatioSummary {
  const calls = { [TREATMENT_ARM]: treatment.calls, [CONTROL_ARM]: control.calls };
  const total = treatment.calls + control.calls;
  const dispersion = 1 + (users > 0 ? Math.max(0, total / users) : 0);
  const check = checkSampleRatio(calls, weights, { alpha: settings.sampleRatioAlpha, dispersion });
  return {
    mismatch: check.mismatch,
    pValue: check.pValue,
    calls,
    dispersion,
    expectedShares: check.expectedShares,
    observedShares: check.observedShares,
  };
}

function armOf(arms: ArmTotals, arm: string, feature: string): MetricBucket {
  return arms.get(arm) ?? emptyMetricBucket(feature, arm, 0);
}

function sampleRatioOf(
  observed: Record<string, number>,
  weights: Record<string, number>,
  settings: ExperimentsConfig,
  looseness: number,
): SampleRatioSummary {
  const check = checkSampleRatio(observed, weights, {
    alpha: settings.sampleRatioAlpha,
    relativeError: USER_ESTIMATE_RELATIVE_ERROR * looseness,
  });
  return {
    mismatch: check.mismatch,
    sufficient: check.sufficient,
    pValue: check.pValue,
    users: Object.fromEntries(Object.entries(observed).map(([k, v]) => [k, Math.round(v)])),
    expectedShares: check.expectedShares,
    observedShares: check.observedShares,
  };
}

/** The verdict that matters for plans: treatment against control; null when none is possible. */
export function controlVerdict(outcome: ComparisonOutcome | undefined): ComparisonVerdict | null {
  return outcome?.comparison.treatmentVsControl?.verdict ?? null;
}

/**
 * `judgeComparison` remembered per feature: the same record version and the same arms (the cumulative
 * totals hand out the same map while they are unchanged) give the outcome of the last tick.
 */
export class ComparisonMemo {
  private readonly last = new Map<
    string,
    { record: FeatureRecord; arms: ArmTotals; outcome: ComparisonOutcome | undefined }
  >();

  /** As `judgeComparison`, whose settings and variants are the monitor's for its whole life. */
  judge(
    record: FeatureRecord,
    arms: ArmTotals,
    settings: ExperimentsConfig,
    variants: readonly VariantConfig[] | undefined,
  ): ComparisonOutcome | undefined {
    const last = this.last.get(record.name);
    if (last !== undefined && last.record.version === record.version && last.arms === arms)
      return last.outcome;
    const outcome = judgeComparison(record, arms, settings, variants);
    this.last.set(record.name, { record, arms, outcome });
    return outcome;
  }

  /** Forgets features no longer known. */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.last.keys()) if (!names.has(name)) this.last.delete(name);
  }
}
