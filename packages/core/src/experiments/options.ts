import { InvalidArgumentError } from '../errors';
import { checkNumberOption } from '../internal/options';

/** Outcome of a comparison of treatment against control (or of one variant against another). */
export type ComparisonVerdict = 'worse' | 'no-detectable-difference' | 'better' | 'inconclusive';

/** Settings shared by the comparisons. */
export interface ComparisonOptions {
  /**
   * Chance of a false 'worse' when the arms are equal, over the whole life of the comparison,
   * however often it is looked at. Each direction is tested on its own at this level: 'worse' is
   * what a monitor acts on, 'better' is a report (its own false-alarm chance is also at most alpha).
   * @default 0.05
   */
  readonly alpha?: number;
  /** Below this many samples in either arm the verdict is 'inconclusive'. @default 100 */
  readonly minSamples?: number;
  /**
   * Standard deviation of the half-normal mixture over the log of the rate ratio (treatment rate
   * over control rate): the relative size of difference found fastest, whatever the base rate
   * (any size is found eventually). 0.7 is tuned for ratios of 1.5 to 3: 2 × 0.1 % is found as
   * fast, in events, as 2 × 5 %. Replaces the absolute `rateMixtureSd` of earlier versions.
   * @default 0.7
   */
  readonly rateRatioMixtureSd?: number;
  /**
   * Mixture standard deviation on the scale of P(treatment slower than control), 0.5 meaning no
   * shift. @default 0.05
   */
  readonly rankMixtureSd?: number;
  /**
   * Mixture standard deviation of the quantile intervals, relative to sqrt(q (1 − q)); smaller
   * values make intervals tighter on large samples and looser on small ones. @default 0.1
   */
  readonly quantileMixtureSd?: number;
}

/** Options with defaults filled in and checked. */
export interface ResolvedComparisonOptions {
  readonly alpha: number;
  readonly minSamples: number;
  readonly rateRatioMixtureSd: number;
  readonly rankMixtureSd: number;
  readonly quantileMixtureSd: number;
}

function positive(name: string, value: number, below?: number): number {
  return checkNumberOption('@canary-rollout/core: comparison option', name, value, {
    min: 'positive',
    ...(below === undefined ? {} : { below }),
  });
}

/** Fills in defaults; throws InvalidArgumentError naming the option and value when one is invalid. */
export function resolveComparisonOptions(options: ComparisonOptions = {}): ResolvedComparisonOptions {
  const minSamples = options.minSamples ?? 100;
  if (!(Number.isInteger(minSamples) && minSamples >= 0)) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: comparison option minSamples must be a whole number >= 0, got ${String(minSamples)}`,
    );
  }
  if ('rateMixtureSd' in options) {
    // An absolute mixture scale was slow on rare errors; refuse it rather than ignore it silently.
    throw new InvalidArgumentError(
      `@canary-rollout/core: comparison option rateMixtureSd was replaced by rateRatioMixtureSd (relative to the base rate, default 0.7), got rateMixtureSd ${String((options as { rateMixtureSd?: unknown }).rateMixtureSd)}`,
    );
  }
  return {
    alpha: positive('alpha', options.alpha ?? 0.05, 1),
    minSamples,
    rateRatioMixtureSd: positive('rateRatioMixtureSd', options.rateRatioMixtureSd ?? 0.7),
    rankMixtureSd: positive('rankMixtureSd', options.rankMixtureSd ?? 0.05, 1),
    quantileMixtureSd: positive('quantileMixtureSd', options.quantileMixtureSd ?? 0.1),
  };
}

/** Throws unless `value` is a whole number >= 0. */
export function checkCount(where: string, name: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 0)) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: ${where}: ${name} must be a whole number >= 0, got ${String(value)}`,
    );
  }
}
