import { InvalidArgumentError } from '../errors';
import { CONTROL_ARM, TREATMENT_ARM } from '../metrics/arm-names';
import {
  halfNormalLowerBound,
  halfNormalMixtureLogLikelihoodRatio,
  pValueFromLogLikelihoodRatio,
} from './mixture';
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
  /** Always-valid bounds of the difference, each holding with 1 − alpha, clipped to [-1, 1]. */
  readonly interval: readonly [number, number];
  /**
   * One-sided mixture likelihood ratio against "no difference", in the direction the data lean
   * (at least 1); the verdict is decided when it reaches 1/alpha.
   */
  readonly likelihoodRatio: number;
  /** Always-valid one-sided p-value of this look: min(1, 1 / likelihoodRatio). */
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
 * Right-tail variance proxy of one event's arm label, per unit of ρ(1 − ρ), where ρ is the share
 * of trials in the arm the label points to. A label that lands in the larger arm (ρ ≥ 1/2) moves
 * the score up by 1 − ρ ≤ 1/2 at most, and its right tail is no heavier than a normal one of the
 * same variance; towards a smaller arm the jumps are large, and the optimal sub-Gaussian constant
 * of a Bernoulli variable (Kearns and Saul, 1998) takes over.
 */
function rightTailFactor(rho: number): number {
  if (rho >= 0.5) return 1;
  if (!(rho > 0)) return Number.POSITIVE_INFINITY;
  return (1 - 2 * rho) / (2 * Math.log((1 - rho) / rho)) / (rho * (1 - rho));
}

/**
 * Compares a rate between two arms with a one-sided mixture sequential probability ratio test in
 * each direction, built on the score of "no difference" (see docs/experiments.md):
 *
 * - Under equal rates, and given the trials of each arm, every event falls into the treatment with
 *   chance ρ = treatment trials / all trials whatever the common rate, so the score
 *   S = treatment events − ρ · events has mean 0 and variance E ρ (1 − ρ) (N − E) / N (the pooled
 *   variance: it does not shrink when the smaller arm happens to see few events). The rarer of
 *   events and non-events is the one counted, so error rate and success rate are the same test.
 * - The mixture is over the log of the rate ratio (half-normal, sd `rateRatioMixtureSd`): the
 *   evidence an event carries about a ratio does not depend on the base rate, so 2 × 0.1 % is found
 *   after as many events as 2 × 5 %.
 * - 'worse' when the mixture likelihood ratio towards "treatment worse" reaches 1/alpha; the chance
 *   of that ever happening to equal arms is at most alpha however often this is called on the
 *   growing data. 'better' is tested the same way in the other direction and is a report.
 *
 * `interval` bounds the difference by inverting the same one-sided tests on its scale, each bound
 * at 1 − alpha, so 'worse' is exactly "the lower bound is above 0". The variance stays the one
 * pooled under "no difference": exact where the verdict is decided, approximate for bounds far
 * from 0.
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
  const t = armRate(where, TREATMENT_ARM, treatment);
  const c = armRate(where, CONTROL_ARM, control);
  const trials = t.trials + c.trials;
  const events = t.events + c.events;
  const sd = opts.rateRatioMixtureSd;
  // ln Λ towards a higher and towards a lower treatment rate, and the bounds of the difference.
  let up = Number.NEGATIVE_INFINITY;
  let down = Number.NEGATIVE_INFINITY;
  let low = -1;
  let high = 1;
  if (t.trials > 0 && c.trials > 0) {
    const rho = t.trials / trials;
    // Count the rarer outcome: its labels are the nearly independent draws the proxy is about. On a
    // tie count the bad outcome (failures), so error rate and success rate stay the same test.
    const flip = 2 * events > trials || (2 * events === trials && direction === 'higher-is-better');
    const rare = flip ? trials - events : events;
    const score = flip ? t.trials - t.events - rho * rare : t.events - rho * rare;
    const variance = (rare * rho * (1 - rho) * (trials - rare)) / trials;
    // Towards the treatment the labels point into an arm of share ρ, away from it into 1 − ρ.
    const toTreatment = rightTailFactor(rho);
    const toControl = rightTailFactor(1 - rho);
    const higherFactor = flip ? toControl : toTreatment;
    const lowerFactor = flip ? toTreatment : toControl;
    const higher = flip ? -score : score;
    up = halfNormalMixtureLogLikelihoodRatio(higher, variance * higherFactor, sd);
    down = halfNormalMixtureLogLikelihoodRatio(-higher, variance * lowerFactor, sd);
    // The same tests on the scale of the difference d = score · N / (n_t n_c): variance
    // p (1 − p) N / (n_t n_c) and mixture sd scaled by p (1 − p), p the pooled rate; so "low
    // above 0" is exactly 'worse' (for higher-is-worse). With no event or no non-event at all the
    // pooled rate says nothing about the spread, and one of each is assumed.
    const p = rare === 0 ? 1 / (trials + 2) : events / trials;
    const spread = p * (1 - p);
    const dVariance = (spread * trials) / (t.trials * c.trials);
    const diff = (t.rate ?? 0) - (c.rate ?? 0);
    low = Math.max(-1, halfNormalLowerBound(diff, dVariance, sd * spread, opts.alpha, higherFactor));
    high = Math.min(1, -halfNormalLowerBound(-diff, dVariance, sd * spread, opts.alpha, lowerFactor));
  }
  const threshold = Math.log(1 / opts.alpha);
  const worseLog = direction === 'higher-is-worse' ? up : down;
  const betterLog = direction === 'higher-is-worse' ? down : up;
  let verdict: ComparisonVerdict;
  if (t.trials < opts.minSamples || c.trials < opts.minSamples || t.trials === 0 || c.trials === 0)
    verdict = 'inconclusive';
  else if (worseLog >= threshold) verdict = 'worse';
  else if (betterLog >= threshold) verdict = 'better';
  else verdict = 'no-detectable-difference';
  const logLr = Math.max(up, down, 0);
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
