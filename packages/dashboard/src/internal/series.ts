import type { MetricBucket } from '@canary-rollout/core';
import { mergeAll, summarize } from '@canary-rollout/core/monitor-kit';

/** A downsampled time series: one time axis (epoch ms) and one array per figure, null where nothing was measured. */
export interface Series {
  /** Width of one point (ms): calls are per this step. */
  readonly stepMs: number;
  readonly t: number[];
  readonly calls: number[];
  readonly errorRate: (number | null)[];
  readonly successRate: (number | null)[];
  readonly p95: (number | null)[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Point widths, each a multiple of the 10 s metric bucket. */
const STEPS = [10_000, 30_000, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR];

/**
 * The buckets of one arm merged into at most `points` steps over [from, to): what the page draws.
 * The JSON stays bounded whatever the range and the bucket width.
 */
export function downsample(
  buckets: readonly MetricBucket[],
  from: number,
  to: number,
  points: number,
  withLatency = true,
): Series {
  // A step of whole bucket widths, so that each point merges as many buckets as the next.
  const wanted = (to - from) / points;
  const step = STEPS.find((s) => s >= wanted) ?? Math.ceil(wanted / HOUR) * HOUR;
  from = Math.floor(from / step) * step;
  const count = Math.max(1, Math.ceil((to - from) / step));
  const groups: MetricBucket[][] = Array.from({ length: count }, () => []);
  for (const bucket of buckets) {
    if (bucket.bucketStart < from || bucket.bucketStart >= to) continue;
    groups[Math.floor((bucket.bucketStart - from) / step)]?.push(bucket);
  }
  const series: Series = { stepMs: step, t: [], calls: [], errorRate: [], successRate: [], p95: [] };
  groups.forEach((group, i) => {
    const summary = summarize(mergeAll(group));
    series.t.push(from + i * step);
    series.calls.push(summary.calls);
    series.errorRate.push(summary.errorRate);
    series.successRate.push(summary.successRate);
    series.p95.push(withLatency ? summary.p95Latency : null);
  });
  return series;
}
