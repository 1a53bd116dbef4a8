import { InvalidArgumentError } from '../errors';
import { CONTROL_ARM, TREATMENT_ARM } from '../metrics/arm-names';
import { binValue, HISTOGRAM_BINS } from '../metrics/histogram';
import { checkCount } from './options';

/** A sparse latency histogram as stored: bin index (see `latencyBin`) to count. */
export type LatencyHistogram = Readonly<Record<string, number>>;

/** Dense view of two histograms over the bins either of them uses, in ascending bin order. */
export interface AlignedHistograms {
  readonly bins: readonly number[];
  readonly treatment: readonly number[];
  readonly control: readonly number[];
  readonly treatmentTotal: number;
  readonly controlTotal: number;
}

function readBins(
  where: string,
  side: string,
  histogram: LatencyHistogram,
  into: Map<number, [number, number]>,
  slot: 0 | 1,
): number {
  let total = 0;
  for (const key of Object.keys(histogram)) {
    const bin = Number(key);
    const count = histogram[key] ?? 0;
    if (!(Number.isInteger(bin) && bin >= 0 && bin < HISTOGRAM_BINS)) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: ${where}: ${side} histogram bin must be a whole number 0..${HISTOGRAM_BINS - 1}, got ${JSON.stringify(key)}`,
      );
    }
    checkCount(where, `${side} histogram count of bin ${key}`, count);
    if (count === 0) continue;
    let pair = into.get(bin);
    if (pair === undefined) {
      pair = [0, 0];
      into.set(bin, pair);
    }
    pair[slot] += count;
    total += count;
  }
  return total;
}

/** Aligns two sparse histograms; throws InvalidArgumentError on a bad bin or count. */
export function alignHistograms(
  where: string,
  treatment: LatencyHistogram,
  control: LatencyHistogram,
): AlignedHistograms {
  const map = new Map<number, [number, number]>();
  const treatmentTotal = readBins(where, TREATMENT_ARM, treatment, map, 0);
  const controlTotal = readBins(where, CONTROL_ARM, control, map, 1);
  const bins = [...map.keys()].sort((a, b) => a - b);
  return {
    bins,
    treatment: bins.map((b) => map.get(b)![0]),
    control: bins.map((b) => map.get(b)![1]),
    treatmentTotal,
    controlTotal,
  };
}

/** Smallest latency (ms) that falls into `bin`. */
export function binLowerEdge(bin: number): number {
  if (bin <= 0) return 0;
  if (bin === 1) return 1;
  // Bin midpoints are geometric, so the edge between two bins is the geometric mean of theirs.
  return Math.sqrt(binValue(bin - 1) * binValue(bin));
}

/** Smallest latency (ms) above `bin`; Infinity for the last, open-ended bin. */
export function binUpperEdge(bin: number): number {
  return bin >= HISTOGRAM_BINS - 1 ? Number.POSITIVE_INFINITY : binLowerEdge(bin + 1);
}

/** The bin holding the observation of 1-based rank `rank` (1..total) in ascending order. */
export function binOfRank(bins: readonly number[], counts: readonly number[], rank: number): number {
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return bins[i]!;
  }
  return bins[bins.length - 1] ?? 0;
}

/** Mann-Whitney figures of two aligned histograms, ties (same bin) counted as half. */
export interface RankStatistics {
  /** U of the treatment: pairs where treatment is slower, plus half the ties. */
  readonly u: number;
  /** U / (n_t n_c): P(treatment slower) + P(tie) / 2. */
  readonly probabilitySlower: number;
  /** DeLong's variance estimate of probabilitySlower (valid with and without a shift). */
  readonly variance: number;
  /** Classical tie-corrected z of U under "same distribution"; null when every value ties. */
  readonly z: number | null;
}

/** U statistic, its DeLong variance and the tie-corrected z; both arms must be non-empty. */
export function rankStatistics(h: AlignedHistograms): RankStatistics {
  const nt = h.treatmentTotal;
  const nc = h.controlTotal;
  let controlBelow = 0;
  let u = 0;
  let tieTerm = 0;
  for (let i = 0; i < h.bins.length; i++) {
    const t = h.treatment[i]!;
    const c = h.control[i]!;
    u += t * (controlBelow + c / 2);
    controlBelow += c;
    const g = t + c;
    tieTerm += g * g * g - g;
  }
  const theta = u / (nt * nc);
  // DeLong placements: for a treatment value, the share of control values below it (ties half);
  // for a control value, the share of treatment values above it.
  let s10 = 0;
  let s01 = 0;
  let below = 0;
  let treatmentAbove = nt;
  for (let i = 0; i < h.bins.length; i++) {
    const t = h.treatment[i]!;
    const c = h.control[i]!;
    treatmentAbove -= t;
    const v10 = (below + c / 2) / nc;
    const v01 = (treatmentAbove + t / 2) / nt;
    s10 += t * (v10 - theta) ** 2;
    s01 += c * (v01 - theta) ** 2;
    below += c;
  }
  const variance = (nt > 1 ? s10 / (nt - 1) / nt : 0) + (nc > 1 ? s01 / (nc - 1) / nc : 0);
  const n = nt + nc;
  const nullVariance = ((nt * nc) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  const z = nullVariance > 0 ? (u - (nt * nc) / 2) / Math.sqrt(nullVariance) : null;
  return { u, probabilitySlower: theta, variance, z };
}
