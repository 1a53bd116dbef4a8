/**
 * Latency histogram with 8 bins per doubling (about ±4.4 % per value), mergeable by adding bins.
 * Bin 0 holds values below 1 ms; the last bin holds everything from about 2.7 hours up.
 */
export const HISTOGRAM_BINS = 256;
const BINS_PER_OCTAVE = 8;

/** The bin a latency (ms) falls into. */
export function latencyBin(ms: number): number {
  if (!(ms >= 1)) return 0;
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
