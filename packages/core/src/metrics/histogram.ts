/**
 * Latency histogram with 8 bins per doubling (about ±4.4 % per value), mergeable by adding bins.
 * Bin 0 holds values below 1 ms; the last bin holds everything from about 2.7 hours up.
 */
export const HISTOGRAM_BINS = 256;
const BINS_PER_OCTAVE = 8;

/** Bin edges 2^(k/8): bin k + 1 starts at EDGES[k]. */
const EDGES = Float64Array.from({ length: HISTOGRAM_BINS + 1 }, (_, k) => 2 ** (k / BINS_PER_OCTAVE));
/** Relative distance to an edge within which the rounding of `Math.log2` decides the bin. */
const NEAR_EDGE = 1e-7;

/**
 * The bin a latency (ms) falls into: `floor(log2(ms) x 8) + 1`, capped. `Math.log2` is a library
 * call on the tracking path, so the bin is found among the 8 edges of the value's octave, and
 * `Math.log2` only decides for values within 1e-7 of an edge, where its rounding matters.
 */
export function latencyBin(ms: number): number {
  if (!(ms >= 1)) return 0;
  if (ms < 2 ** 31) {
    let k = (31 - Math.clz32(ms)) * BINS_PER_OCTAVE;
    const octaveEnd = k + BINS_PER_OCTAVE;
    while (k + 1 < octaveEnd && ms >= EDGES[k + 1]!) k++;
    const low = EDGES[k]!;
    const high = EDGES[k + 1]!;
    if (ms - low > low * NEAR_EDGE && high - ms > high * NEAR_EDGE)
      return Math.min(k + 1, HISTOGRAM_BINS - 1);
  }
  const bin = Math.floor(Math.log2(ms) * BINS_PER_OCTAVE) + 1;
  return bin >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : bin;
}

/** The value a bin stands for: its geometric middle (ms). */
export function binValue(bin: number): number {
  if (bin <= 0) return 0.5;
  return 2 ** ((bin - 0.5) / BINS_PER_OCTAVE);
}

/** The q-quantile (0..1) of a sparse histogram (bin index to count), or null when empty. */
export function histogramQuantile(histogram: Readonly<Record<string, number>>, q: number): number | null {
  const bins = Object.keys(histogram)
    .map(Number)
    .sort((a, b) => a - b);
  let total = 0;
  for (const bin of bins) total += histogram[bin] ?? 0;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const bin of bins) {
    seen += histogram[bin] ?? 0;
    if (seen >= rank) return binValue(bin);
  }
  return binValue(bins[bins.length - 1] ?? 0);
}

/** Sparse form of a dense bin array: only bins with counts. */
export function sparseHistogram(bins: Uint32Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < bins.length; i++) {
    const count = bins[i]!;
    if (count !== 0) out[i] = count;
  }
  return out;
}
