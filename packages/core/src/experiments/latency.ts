import { histogramQuantile } from '../metrics/histogram';
import {
  type AlignedHistograms,
  alignHistograms,
  binLowerEdge,
  binOfRank,
  binUpperEdge,
  type LatencyHistogram,
  rankStatistics,
} from './histogram-ranks';
import {
  halfNormalLowerBound,
  halfNormalMixtureLogLikelihoodRatio,
  mixtureHalfWidth,
  pValueFromLogLikelihoodRatio,
} from './mixture';
import {
  type ComparisonOptions,
  type ComparisonVerdict,
  type ResolvedComparisonOptions,
  resolveComparisonOptions,
} from './options';
import { compareRates } from './rates';

/** One quantile (median or p95) of treatment against control. */
export interface QuantileComparison {
  /** The quantile, 0.5 or 0.95. */
  readonly quantile: number;
  /** Treatment and control quantiles (ms, bin middles); null when an arm is empty. */
  readonly treatment: number | null;
  readonly control: number | null;
  /** Treatment minus control (ms); null when an arm is empty. */
  readonly effect: number | null;
  /**
   * Always-valid interval of the difference (ms), from bin edges, so never narrower than the
   * histogram's resolution (about ±4.4 % per value); may be infinite on small samples.
   */
  readonly interval: readonly [number, number];
  /**
   * 'worse' when treatment calls land above the pooled quantile's bin significantly more often
   * than control calls (the always-valid rate test); the interval above may still touch 0
   * because of the bin resolution.
   */
  readonly verdict: ComparisonVerdict;
  /** Always-valid p-value of that test. */
  readonly pValue: number;
}

/** A sequential comparison of latency distributions from two mergeable histograms. */
export interface LatencyComparison {
  /** From the rank test: 'worse' when treatment calls are slower than control calls. */
  readonly verdict: ComparisonVerdict;
  readonly treatmentSamples: number;
  readonly controlSamples: number;
  /** Mann-Whitney U of the treatment (slower pairs plus half the ties). */
  readonly u: number;
  /** Tie-corrected normal z of U for a fixed sample (reported; the verdict does not use it). */
  readonly z: number | null;
  /** P(a treatment call is slower than a control call) + P(same bin) / 2; 0.5 means no shift. */
  readonly probabilitySlower: number | null;
  /** Always-valid bounds of probabilitySlower, each holding with 1 − alpha (one per one-sided test). */
  readonly interval: readonly [number, number];
  readonly likelihoodRatio: number;
  /** Always-valid p-value of this look: min(1, 1 / likelihoodRatio). */
  readonly pValue: number;
  readonly alpha: number;
  readonly p50: QuantileComparison;
  readonly p95: QuantileComparison;
}

function quantileBounds(
  bins: readonly number[],
  counts: readonly number[],
  total: number,
  q: number,
  opts: ResolvedComparisonOptions,
): [number, number] {
  // The count of values at or below the true quantile is Binomial(n, q): an always-valid bound
  // on that count brackets the quantile between two order statistics, read off as bin edges.
  const spread = q * (1 - q);
  const width = mixtureHalfWidth(spread / total, spread * opts.quantileMixtureSd ** 2, opts.alpha / 2);
  const lowRank = Math.ceil(total * (q - width));
  const highRank = Math.floor(total * (q + width)) + 1;
  const low = lowRank < 1 ? 0 : binLowerEdge(binOfRank(bins, counts, lowRank));
  const high = highRank > total ? Number.POSITIVE_INFINITY : binUpperEdge(binOfRank(bins, counts, highRank));
  return [low, high];
}

function compareQuantile(
  h: AlignedHistograms,
  treatment: LatencyHistogram,
  control: LatencyHistogram,
  q: number,
  opts: ResolvedComparisonOptions,
): QuantileComparison {
  const tq = histogramQuantile(treatment, q);
  const cq = histogramQuantile(control, q);
  const nt = h.treatmentTotal;
  const nc = h.controlTotal;
  if (nt === 0 || nc === 0) {
    return {
      quantile: q,
      treatment: tq,
      control: cq,
      effect: null,
      interval: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
      verdict: 'inconclusive',
      pValue: 1,
    };
  }
  const [tLow, tHigh] = quantileBounds(h.bins, h.treatment, nt, q, opts);
  const [cLow, cHigh] = quantileBounds(h.bins, h.control, nc, q, opts);
  // Each arm's interval holds with 1 - alpha/2, so both (and the difference) with 1 - alpha.
  const interval: [number, number] = [tLow - cHigh, tHigh - cLow];
  // The verdict: are treatment calls more often slower than the pooled quantile's bin than
  // control calls? Under "same distribution" both arms share that chance whatever the cut.
  const pooled = h.bins.map((_, i) => h.treatment[i]! + h.control[i]!);
  const cut = binOfRank(h.bins, pooled, Math.max(1, Math.ceil(q * (nt + nc))));
  let tAbove = 0;
  let cAbove = 0;
  for (let i = 0; i < h.bins.length; i++) {
    if (h.bins[i]! <= cut) continue;
    tAbove += h.treatment[i]!;
    cAbove += h.control[i]!;
  }
  const exceedance = compareRates(
    { events: tAbove, trials: nt },
    { events: cAbove, trials: nc },
    'higher-is-worse',
    {
      alpha: opts.alpha,
      minSamples: opts.minSamples,
      // The same mixture scale as the quantile intervals, relative to the 1 − q of calls above the cut.
      rateRatioMixtureSd: (opts.quantileMixtureSd * Math.sqrt(q * (1 - q))) / (1 - q),
    },
  );
  return {
    quantile: q,
    treatment: tq,
    control: cq,
    effect: tq === null || cq === null ? null : tq - cq,
    interval,
    verdict: exceedance.verdict,
    pValue: exceedance.pValue,
  };
}

/**
 * Compares latency of treatment and control from their merged histograms. The overall verdict
 * comes from the Mann-Whitney statistic computed on the bins (values in one bin tie), turned
 * into an always-valid test by a one-sided normal-mixture likelihood ratio in each direction,
 * applied to P(treatment slower) with DeLong's variance: 'worse' (slower) and 'better' each at
 * alpha. Median and p95 each get an always-valid
 * interval of their difference built from order statistics.
 */
export function compareLatency(
  treatment: LatencyHistogram,
  control: LatencyHistogram,
  options: ComparisonOptions = {},
): LatencyComparison {
  const opts = resolveComparisonOptions(options);
  const h = alignHistograms('compare latency', treatment, control);
  const p50 = compareQuantile(h, treatment, control, 0.5, opts);
  const p95 = compareQuantile(h, treatment, control, 0.95, opts);
  const base = {
    treatmentSamples: h.treatmentTotal,
    controlSamples: h.controlTotal,
    alpha: opts.alpha,
    p50,
    p95,
  };
  if (h.treatmentTotal === 0 || h.controlTotal === 0) {
    return {
      ...base,
      verdict: 'inconclusive',
      u: 0,
      z: null,
      probabilitySlower: null,
      interval: [0, 1],
      likelihoodRatio: 1,
      pValue: 1,
    };
  }
  const ranks = rankStatistics(h);
  const p = ranks.probabilitySlower;
  // Each bound inverts the one-sided test of its side, so 'worse' is exactly "low above 0.5".
  const low = Math.max(0, halfNormalLowerBound(p, ranks.variance, opts.rankMixtureSd, opts.alpha));
  const high = Math.min(1, -halfNormalLowerBound(-p, ranks.variance, opts.rankMixtureSd, opts.alpha));
  // One-sided in each direction, as for rates: 'worse' (slower) is what a monitor acts on.
  const shift = ranks.probabilitySlower - 0.5;
  let slower = shift > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  let faster = -slower;
  if (ranks.variance > 0) {
    slower = halfNormalMixtureLogLikelihoodRatio(
      shift / ranks.variance,
      1 / ranks.variance,
      opts.rankMixtureSd,
    );
    faster = halfNormalMixtureLogLikelihoodRatio(
      -shift / ranks.variance,
      1 / ranks.variance,
      opts.rankMixtureSd,
    );
  } else if (shift === 0) {
    slower = faster = 0;
  }
  const logLr = Math.max(slower, faster, 0);
  const threshold = Math.log(1 / opts.alpha);
  let verdict: ComparisonVerdict = 'no-detectable-difference';
  if (h.treatmentTotal < opts.minSamples || h.controlTotal < opts.minSamples) verdict = 'inconclusive';
  else if (slower >= threshold) verdict = 'worse';
  else if (faster >= threshold) verdict = 'better';
  return {
    ...base,
    verdict,
    u: ranks.u,
    z: ranks.z,
    probabilitySlower: ranks.probabilitySlower,
    interval: [low, high],
    likelihoodRatio: Math.exp(logLr),
    pValue: pValueFromLogLikelihoodRatio(logLr),
  };
}
