import { InvalidArgumentError } from '../errors';
import { HLL_REGISTERS } from '../metrics/hyperloglog';
import { chiSquareUpperTail } from './math';

/** Relative standard error of a HyperLogLog distinct-user estimate (1.04 / sqrt(registers)). */
export const USER_ESTIMATE_RELATIVE_ERROR = 1.04 / Math.sqrt(HLL_REGISTERS);

/** Settings of `checkSampleRatio`. */
export interface SampleRatioOptions {
  /** P-value below which the split is called broken; strict because it is checked often. @default 0.001 */
  readonly alpha?: number;
  /**
   * Relative standard error of each observed count when the counts are estimates, e.g.
   * `USER_ESTIMATE_RELATIVE_ERROR` for HyperLogLog user counts. @default 0 (exact counts)
   */
  readonly relativeError?: number;
  /**
   * Variance of a count over its mean when units are not independent single draws: about
   * (mean² + variance) / mean of calls per user when counting calls. @default 1
   */
  readonly dispersion?: number;
  /** Below this many expected units in an arm the check does not judge. @default 5 */
  readonly minExpected?: number;
}

/** Result of a sample-ratio-mismatch check. */
export interface SampleRatioCheck {
  /** True when the observed split is too unlikely under the expected one: the split is broken. */
  readonly mismatch: boolean;
  /** False when some arm expects fewer than `minExpected` units: too early to judge. */
  readonly sufficient: boolean;
  readonly chiSquare: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  readonly alpha: number;
  readonly total: number;
  /** Observed share of each arm. */
  readonly observedShares: Readonly<Record<string, number>>;
  /** Expected share of each arm (weights normalised). */
  readonly expectedShares: Readonly<Record<string, number>>;
}

function fail(message: string): never {
  throw new InvalidArgumentError(`@canary-rollout/core: checkSampleRatio: ${message}`);
}

/**
 * Chi-square goodness-of-fit of observed exposures per arm against expected weights (for
 * treatment/control, `expectedArmShares`). With the defaults it is Pearson's test with k − 1
 * degrees of freedom. With `relativeError` or `dispersion`, each arm's variance becomes
 * dispersion·e + (relativeError·e)², and the statistic is the weighted least-squares fit of the
 * total (still chi-square with k − 1 degrees of freedom), so noisy estimates do not cry wolf.
 * An arm with weight 0 that saw exposures is always a mismatch.
 */
export function checkSampleRatio(
  observed: Readonly<Record<string, number>>,
  weights: Readonly<Record<string, number>>,
  options: SampleRatioOptions = {},
): SampleRatioCheck {
  const alpha = options.alpha ?? 0.001;
  const relativeError = options.relativeError ?? 0;
  const dispersion = options.dispersion ?? 1;
  const minExpected = options.minExpected ?? 5;
  if (!(alpha > 0 && alpha < 1)) fail(`alpha must be > 0 and < 1, got ${String(alpha)}`);
  if (!(relativeError >= 0 && Number.isFinite(relativeError)))
    fail(`relativeError must be >= 0, got ${String(relativeError)}`);
  if (!(dispersion > 0 && Number.isFinite(dispersion)))
    fail(`dispersion must be > 0, got ${String(dispersion)}`);
  const arms = [...new Set([...Object.keys(weights), ...Object.keys(observed)])].sort();
  let weightSum = 0;
  let total = 0;
  for (const arm of arms) {
    const w = weights[arm] ?? 0;
    const o = observed[arm] ?? 0;
    if (!(w >= 0 && Number.isFinite(w))) fail(`weight of arm ${arm} must be >= 0, got ${String(w)}`);
    if (!(o >= 0 && Number.isFinite(o))) fail(`observed count of arm ${arm} must be >= 0, got ${String(o)}`);
    weightSum += w;
    total += o;
  }
  if (!(weightSum > 0)) fail('at least one weight must be > 0');
  const expectedShares: Record<string, number> = {};
  const observedShares: Record<string, number> = {};
  let impossible = false;
  let sufficient = total > 0;
  const live: Array<{ o: number; w: number; v: number }> = [];
  for (const arm of arms) {
    const w = (weights[arm] ?? 0) / weightSum;
    const o = observed[arm] ?? 0;
    expectedShares[arm] = w;
    observedShares[arm] = total === 0 ? 0 : o / total;
    if (w === 0) {
      if (o > 0) impossible = true;
      continue;
    }
    const e = total * w;
    if (e < minExpected) sufficient = false;
    live.push({ o, w, v: dispersion * e + (relativeError * e) ** 2 });
  }
  const df = Math.max(0, live.length - 1);
  let chiSquare = 0;
  if (total > 0 && df > 0) {
    // Fit the total by weighted least squares; with exact counts this is the observed total
    // and the statistic is Pearson's.
    let num = 0;
    let den = 0;
    for (const { o, w, v } of live) {
      num += (o * w) / v;
      den += (w * w) / v;
    }
    const fitted = num / den;
    for (const { o, w, v } of live) chiSquare += (o - fitted * w) ** 2 / v;
  }
  const pValue = impossible ? 0 : df === 0 || total === 0 ? 1 : chiSquareUpperTail(chiSquare, df);
  return {
    mismatch: impossible || (sufficient && pValue < alpha),
    sufficient: impossible || sufficient,
    chiSquare: impossible ? Number.POSITIVE_INFINITY : chiSquare,
    degreesOfFreedom: df,
    pValue,
    alpha,
    total,
    observedShares,
    expectedShares,
  };
}
