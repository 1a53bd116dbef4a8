import type { CanaryRolloutError } from '../errors';
import { InvalidArgumentError, isCanaryRolloutError, StoreUnavailableError } from '../errors';
import { asStoreError } from '../errors/store-errors';
import type { UsageAggregator } from '../metrics/aggregator';
import type { MetricBucket } from '../schemas/records';
import { newId } from '../storage/ids';
import { mergeMetricBuckets } from '../storage/metric-merge';
import type { MetricBatch, RolloutStore } from '../storage/types';

/** Buckets sent under one batch number. */
interface Batch {
  readonly seq: number;
  readonly buckets: MetricBucket[];
}

/**
 * Moves usage from the in-memory aggregator to the store in numbered batches, exactly once: a
 * batch whose outcome is unknown (the store failed) is sent again unchanged under its number,
 * and the store skips a number it has applied. While the store fails, what was recorded since
 * waits, merged, in a bounded buffer (the oldest buckets dropped beyond it, and reported). A
 * batch the store refuses as invalid data is split until the bucket at fault is found; that
 * bucket is dropped and reported, the others are stored.
 *
 * The fleet-wide window behind the status is re-read by a flush that asks for it, or by any flush
 * once the status was asked for since the last read: a timer flush nobody reads the status of
 * sends usage and reads nothing back. Between reads, what this process stored since the last one
 * is counted in the status from the buckets it sent, so its own calls never go missing.
 */
export class UsagePipeline {
  /** Id of this writer in every batch it sends. */
  readonly writer = newId('w');
  private seq = 0;
  /** Sent, outcome unknown: goes again as it is, first. */
  private unsettled: Batch | undefined;
  /** Parts of a refused batch, not sent yet, in order. */
  private parts: MetricBucket[][] = [];
  /** Never sent: what later usage merges into. */
  private waiting: MetricBucket[] = [];
  private fleet: MetricBucket[] = [];
  /** Stored since the fleet window was last read (so not in `fleet`). */
  private sent: MetricBucket[] = [];
  /** A flush asked for the fleet window, or the status was read since the last read. */
  private fleetWanted = false;
  private flushing: Promise<void> | undefined;
  /** A pass queued behind the running one: it takes what was recorded while that one ran. */
  private queued: Promise<void> | undefined;

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
      /** Reads the health marks the status shows, at the same time as the fleet window. */
      readonly readHealthMarks?: () => Promise<unknown>;
    },
  ) {}

  /**
   * Sends what was recorded before the call. A pass already running drained the aggregator
   * before later calls were recorded, so a call made meanwhile waits for one more pass after it;
   * callers arriving while that pass waits share it.
   */
  flush(options: { readonly readFleet?: boolean } = {}): Promise<void> {
    if (options.readFleet === true) this.fleetWanted = true;
    if (this.flushing === undefined) {
      this.flushing = this.doFlush().finally(() => {
        this.flushing = undefined;
      });
      return this.flushing;
    }
    const again = () => {
      this.queued = undefined;
      return this.flush();
    };
    this.queued ??= this.flushing.then(again, again);
    return this.queued;
  }

  /**
   * Re-reads the fleet-wide window (what `buckets()` reports) and the health marks the status shows,
   * reporting a store fault; what failed keeps its last good value.
   */
  async readFleet(): Promise<void> {
    this.fleetWanted = false;
    const sent = this.sent;
    this.sent = [];
    const alongside = this.options.readHealthMarks?.().catch((error: unknown) => {
      this.options.reportError(asStoreError(error, 'read health marks'));
    });
    try {
      this.fleet = await this.store.readMetrics(this.options.now() - this.options.windowMs);
    } catch (error) {
      // The stale window still lacks what was sent: keep counting it.
      this.sent = [...sent, ...this.sent];
      this.options.reportError(asStoreError(error, 'read metrics'));
    }
    await alongside;
  }

  /** Metric buckets waiting for the store. */
  pendingCount(): number {
    let count = (this.unsettled?.buckets.length ?? 0) + this.waiting.length;
    for (const part of this.parts) count += part.length;
    return count;
  }

  /**
   * Fleet-wide buckets as of the last read of the window, plus what this process stored since
   * and what it has not delivered yet. The next flush re-reads the window for the next call.
   */
  buckets(): MetricBucket[] {
    this.fleetWanted = true;
    return [
      ...this.fleet,
      ...this.sent,
      ...(this.unsettled?.buckets ?? []),
      ...this.parts.flat(),
      ...this.waiting,
      ...this.aggregator.peek(),
    ];
  }

  private async doFlush(): Promise<void> {
    const drained = this.aggregator.drain();
    this.options.onDrain?.(drained);
    if (drained.length > 0) {
      this.waiting = this.waiting.length === 0 ? drained : mergeMetricBuckets([...this.waiting, ...drained]);
    }
    for (;;) {
      const batch = this.next();
      if (batch === undefined) break;
      const id: MetricBatch = { writer: this.writer, seq: batch.seq };
      try {
        await this.store.addMetrics(batch.buckets, id);
        this.unsettled = undefined;
        this.keepSent(batch.buckets);
      } catch (error) {
        if (isCanaryRolloutError(error, 'INVALID_ARGUMENT')) {
          // Refused before anything was applied: look for the bucket at fault.
          this.unsettled = undefined;
          this.refused(batch.buckets, error);
          continue;
        }
        this.bound();
        this.options.reportError(asStoreError(error, 'flush metrics'));
        return;
      }
    }
    if (this.fleetWanted) await this.readFleet();
  }

  /** Adds stored buckets to `sent`, merged, leaving out those older than the window. */
  private keepSent(buckets: readonly MetricBucket[]): void {
    const since = this.options.now() - this.options.windowMs;
    this.sent = mergeMetricBuckets([...this.sent, ...buckets].filter((b) => b.bucketStart >= since));
  }

  /** The batch to send: the unsettled one again, else a new number for the next part or what waits. */
  private next(): Batch | undefined {
    if (this.unsettled !== undefined) return this.unsettled;
    const buckets = this.parts.shift() ?? this.waiting;
    if (buckets === this.waiting) this.waiting = [];
    if (buckets.length === 0) return undefined;
    this.unsettled = { seq: ++this.seq, buckets };
    return this.unsettled;
  }

  private refused(buckets: MetricBucket[], error: CanaryRolloutError): void {
    if (buckets.length > 1) {
      const half = Math.ceil(buckets.length / 2);
      this.parts.unshift(buckets.slice(0, half), buckets.slice(half));
      return;
    }
    const bucket = buckets[0]!;
    this.options.reportError(
      new InvalidArgumentError(
        `@canary-rollout/core: dropped a metric bucket the store refused: feature "${bucket.feature}", arm "${bucket.arm}", bucket ${new Date(bucket.bucketStart).toISOString()} (${bucket.calls} calls): ${error.message}`,
        { cause: error },
      ),
    );
  }

  /**
   * Keeps the buffer within `maxPendingBuckets`, dropping the oldest first: the unsent batch
   * goes whole (it must go again unchanged or not at all), then the oldest buckets never sent.
   */
  private bound(): void {
    const max = this.options.maxPendingBuckets;
    let excess = this.pendingCount() - max;
    if (excess <= 0) return;
    const dropped: MetricBucket[] = [];
    if (this.unsettled !== undefined) {
      dropped.push(...this.unsettled.buckets);
      excess -= this.unsettled.buckets.length;
      this.unsettled = undefined;
    }
    if (excess > 0) {
      const sorted = this.waiting.sort((a, b) => a.bucketStart - b.bucketStart);
      dropped.push(...sorted.slice(0, excess));
      this.waiting = sorted.slice(excess);
    }
    const calls = dropped.reduce((sum, b) => sum + b.calls, 0);
    this.options.reportError(
      new StoreUnavailableError(
        `@canary-rollout/core: store unavailable too long: dropped ${dropped.length} metric buckets (${calls} calls) beyond maxPendingBuckets ${max}`,
      ),
    );
  }
}
