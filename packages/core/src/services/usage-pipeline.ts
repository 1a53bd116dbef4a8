import type { CanaryRolloutError } from '../errors';
import { StoreUnavailableError } from '../errors';
import type { UsageAggregator } from '../metrics/aggregator';
import type { MetricBucket } from '../schemas/records';
import { mergeMetricBuckets } from '../storage/semantics';
import type { RolloutStore } from '../storage/types';
import { asStoreError } from './support';

/**
 * Moves usage from the in-memory aggregator to the store in batches. While the store fails,
 * batches wait in a bounded buffer (the oldest buckets dropped beyond it, and reported); after
 * each flush the fleet-wide window is re-read for the status.
 */
export class UsagePipeline {
  private pending: MetricBucket[] = [];
  private fleet: MetricBucket[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: RolloutStore,
    private readonly aggregator: UsageAggregator,
    private readonly options: {
      readonly maxPendingBuckets: number;
      readonly windowMs: number;
      readonly now: () => number;
      readonly reportError: (error: CanaryRolloutError) => void;
      /** Sees what each flush takes from the aggregator, once. */
      readonly onDrain?: (buckets: readonly MetricBucket[]) => void;
    },
  ) {}

  /** Sends what was recorded; concurrent calls share one flush. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Metric buckets waiting for the store. */
  pendingCount(): number {
    return this.pending.length;
  }

  /** Fleet-wide buckets as of the last flush, plus what this process has not delivered yet. */
  buckets(): MetricBucket[] {
    return [...this.fleet, ...this.pending, ...this.aggregator.peek()];
  }

  private async doFlush(): Promise<void> {
    const drained = this.aggregator.drain();
    this.options.onDrain?.(drained);
    const batch = this.pending.length === 0 ? drained : mergeMetricBuckets([...this.pending, ...drained]);
    this.pending = [];
    if (batch.length > 0) {
      try {
        await this.store.addMetrics(batch);
      } catch (error) {
        this.keepPending(batch);
        this.options.reportError(asStoreError(error, 'flush metrics'));
        return;
      }
    }
    try {
      this.fleet = await this.store.readMetrics(this.options.now() - this.options.windowMs);
    } catch (error) {
      this.options.reportError(asStoreError(error, 'read metrics'));
    }
  }

  private keepPending(batch: MetricBucket[]): void {
    const max = this.options.maxPendingBuckets;
    batch.sort((a, b) => a.bucketStart - b.bucketStart);
    const dropped = batch.length - max;
    this.pending = dropped > 0 ? batch.slice(dropped) : batch;
    if (dropped > 0) {
      const calls = batch.slice(0, dropped).reduce((sum, b) => sum + b.calls, 0);
      this.options.reportError(
        new StoreUnavailableError(
          `@canary-rollout/core: store unavailable too long: dropped ${dropped} metric buckets (${calls} calls) beyond maxPendingBuckets ${max}`,
        ),
      );
    }
  }
}
