import { InvalidArgumentError } from '../errors';
import { mixtureHalfWidth, mixtureLogLikelihoodRatio, pValueFromLogLikelihoodRatio } from './mixture';
import {
  type ComparisonOptions,
  type ComparisonVerdict,
  checkCount,
  resolveComparisonOptions,
} from './options';

/** Events (failures, successes, ...) out of trials (calls) in one arm. */
export interface RateCounts {
  readonly events: number;
  readonly trials: number;
}

/** One arm's side of a rate comparison. */
export interface ArmRate {
  readonly trials: number;
  readonly events: number;
  /** events / trials; null with no trials. */
  readonly rate: number | null;
}

/** A sequential (always-valid) comparison of a rate between treatment and control. */
export interface RateComparison {
  readonly metric: 'error-rate' | 'success-rate' | 'rate';
  readonly verdict: ComparisonVerdict;
  readonly treatment: ArmRate;
  readonly control: ArmRate;
  /** Treatment rate minus control rate; null when an arm has no trials. */
  readonly effect: number | null;
  /** Always-valid (1 − alpha) confidence interval of the difference, clipped to [-1, 1]. */
  readonly interval: readonly [number, number];
  /** Mixture likelihood ratio against "no difference"; the verdict is decided when it reaches 1/alpha. */
  readonly likelihoodRatio: number;
  /** Always-valid p-value of this look: min(1, 1 / likelihoodRatio). */
  readonly pValue: number;
  readonly alpha: number;
}

/** Whether a higher rate in the treatment is bad (error rate) or good (success rate). */
export type RateDirection = 'higher-is-worse' | 'higher-is-better';

function armRate(where: string, side: string, counts: RateCounts): ArmRate {
  checkCount(where, `${side}.trials`, counts.trials);
  checkCount(where, `${side}.events`, counts.events);
  if (counts.events > counts.trials) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: ${where}: ${side}.events must be <= ${side}.trials, got ${counts.events} > ${counts.trials}`,
    );
  }
  return {
    trials: counts.trials,
    events: counts.events,
    rate: counts.trials === 0 ? null : counts.events / counts.trials,
  };
}

/**
 * Compares a rate between two arms with the normal-mixture sequential probability ratio test
 * (mSPRT) on the difference of proportions. The estimate and its variance use the Agresti-Caffo
 * adjustment (one event and one non-event added to each arm), which keeps the normal
 * approximation honest on small counts and rare events. The verdict is 'worse' or 'better' only
 * when the always-valid interval excludes 0, so the chance of ever declaring a difference between
 * equal arms stays below `alpha` however often this is called on the growing data.
 */
export function compareRates(
  treatment: RateCounts,
  control: RateCounts,
  direction: RateDirection,
  options: ComparisonOptions = {},
  metric: RateComparison['metric'] = 'rate',
): RateComparison {
  const where = `compare ${metric}`;
  const opts = resolveComparisonOptions(options);
  const t = armRate(where, 'treatment', treatment);
  const c = armRate(where, 'control', control);
  const pt = (t.events + 1) / (t.trials + 2);
  const pc = (c.events + 1) / (c.trials + 2);
  const diff = pt - pc;
  const variance = (pt * (1 - pt)) / (t.trials + 2) + (pc * (1 - pc)) / (c.trials + 2);
  const tau2 = opts.rateMixtureSd * opts.rateMixtureSd;
  const logLr = mixtureLogLikelihoodRatio(diff, 0, variance, tau2);
  const half = mixtureHalfWidth(variance, tau2, opts.alpha);
  const low = Math.max(-1, diff - half);
  const high = Math.min(1, diff + half);
  let verdict: ComparisonVerdict;
  if (t.trials < opts.minSamples || c.trials < opts.minSamples) verdict = 'inconclusive';
  else if (low > 0) verdict = direction === 'higher-is-worse' ? 'worse' : 'better';
  else if (high < 0) verdict = direction === 'higher-is-worse' ? 'better' : 'worse';
  else verdict = 'no-detectable-difference';
  return {
    metric,
    verdict,
    treatment: t,
    control: c,
    effect: t.rate === null || c.rate === null ? null : t.rate - c.rate,
    interval: [low, high],
    likelihoodRatio: Math.exp(logLr),
    pValue: pValueFromLogLikelihoodRatio(logLr),
    alpha: opts.alpha,
  };
}

/** Calls and failures of one arm, as in a merged `MetricBucket`. */
export interface ErrorCounts {
  readonly calls: number;
  readonly failures: number;
}

/** Calls and successes of one arm, as in a merged `MetricBucket`. */
export interface SuccessCounts {
  readonly calls: number;
  readonly successes: number;
}

/** Error rate (failures / calls) of treatment against control; a higher treatment rate is 'worse'. */
export function compareErrorRates(
  treatment: ErrorCounts,
  control: ErrorCounts,
  options: ComparisonOptions = {},
): RateComparison {
  return compareRates(
    { events: treatment.failures, trials: treatment.calls },
    { events: control.failures, trials: control.calls },
    'higher-is-worse',
    options,
    'error-rate',
  );
}

/** Success rate (successes / calls) of treatment against control; a lower treatment rate is 'worse'. */
export function compareSuccessRates(
  treatment: SuccessCounts,
  control: SuccessCounts,
  options: ComparisonOptions = {},
): RateComparison {
  return compareRates(
    { events: treatment.successes, trials: treatment.calls },
    { events: control.successes, trials: control.calls },
    'higher-is-better',
    options,
    'success-rate',
  );
}
