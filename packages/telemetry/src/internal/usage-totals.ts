import type { MetricBucket } from '@canary-rollout/core';
import { binValue, HISTOGRAM_BINS } from '@canary-rollout/core/monitor-kit';

/** Cumulative usage of one (feature, arm) in this process. */
export interface ArmTotals {
  readonly feature: string;
  readonly arm: string;
  calls: number;
  successes: number;
  failures: number;
  latencyCount: number;
  latencySumMs: number;
  /** Dense latency bins (see core's `latencyBin`). */
  readonly bins: Float64Array;
  minMs: number;
  maxMs: number;
}

/**
 * Adds up the buckets each flush takes from the service, so instruments read totals at collection
 * time instead of being called per evaluation or per tracked call.
 */
export class UsageTotals {
  private readonly byKey = new Map<string, ArmTotals>();

  add(buckets: readonly MetricBucket[]): void {
    for (const bucket of buckets) {
      const key = `${bucket.feature}\u0000${bucket.arm}`;
      let totals = this.byKey.get(key);
      if (totals === undefined) {
        totals = {
          feature: bucket.feature,
          arm: bucket.arm,
          calls: 0,
          successes: 0,
          failures: 0,
          latencyCount: 0,
          latencySumMs: 0,
          bins: new Float64Array(HISTOGRAM_BINS),
          minMs: Number.POSITIVE_INFINITY,
          maxMs: 0,
        };
        this.byKey.set(key, totals);
      }
      totals.calls += bucket.calls;
      totals.successes += bucket.successes;
      totals.failures += bucket.failures;
      totals.latencyCount += bucket.latencyCount;
      totals.latencySumMs += bucket.latencySumMs;
      for (const [bin, count] of Object.entries(bucket.histogram)) {
        const index = Number(bin);
        totals.bins[index] = (totals.bins[index] ?? 0) + count;
        const value = binValue(index);
        if (value < totals.minMs) totals.minMs = value;
        if (value > totals.maxMs) totals.maxMs = value;
      }
    }
  }

  all(): Iterable<ArmTotals> {
    return this.byKey.values();
  }
}

/** Default bucket boundaries of the latency histogram (ms). */
export const LATENCY_BOUNDARIES_MS: readonly number[] = [
  5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000, 30000, 60000,
];

/**
 * Folds fine bins into explicit boundaries: counts[i] holds values <= boundaries[i] (and above the
 * previous boundary), the last count everything above. A bin goes by its representative value.
 */
export function foldBins(bins: Float64Array, boundaries: readonly number[]): number[] {
  const counts = new Array<number>(boundaries.length + 1).fill(0);
  for (let bin = 0; bin < bins.length; bin++) {
    const count = bins[bin]!;
    if (count === 0) continue;
    const value = binValue(bin);
    let slot = boundaries.findIndex((edge) => value <= edge);
    if (slot === -1) slot = boundaries.length;
    counts[slot]! += count;
  }
  return counts;
}
