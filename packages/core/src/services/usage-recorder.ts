import { type Clock, systemClock } from '../clock';
import { type CanaryRolloutError, InvalidArgumentError } from '../errors';
import { featureOf, type Snapshot } from '../evaluation/snapshot';
import { show } from '../internal/args';
import { UsageAggregator } from '../metrics/aggregator';
import { TREATMENT_ARM } from '../metrics/arm-names';
import type { MetricBucket } from '../schemas/records';
import type { RolloutStore } from '../storage/types';
import type { FeatureUsage } from './types';
import { UsagePipeline } from './usage-pipeline';

/**
 * Largest latency `trackFeatureUsage` takes (ms, 1,000 years): with at most
 * `Number.MAX_SAFE_INTEGER` calls, latency x calls stays finite.
 */
const MAX_LATENCY_MS = 31_557_600_000_000;

/** Refresh period of the coarse clock used to bucket usage (ms). */
const COARSE_CLOCK_MS = 100;

/** A count a store can keep: a safe integer >= 0. Returns it, or throws naming the field. */
function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: trackFeatureUsage: ${field} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${show(value)}`,
    );
  }
  return value;
}

/** How usage is bucketed, buffered and flushed. */
export interface UsageRecorderOptions {
  readonly store: RolloutStore;
  readonly clock: Clock;
  readonly metricsBucketMs: number;
  readonly maxPendingBuckets: number;
  readonly flushIntervalMs: number;
  readonly windowMs: number;
  readonly reportError: (error: CanaryRolloutError) => void;
  /** Sees what each flush takes from the aggregator, once. */
  readonly onDrain: (buckets: readonly MetricBucket[]) => void;
  /** Reads the health marks the status shows, each time the fleet window is read. */
  readonly readHealthMarks?: () => Promise<unknown>;
}

/**
 * Records usage and sends it to the store: checks each record, aggregates it in memory per
 * (feature, arm, time bucket, stage), and flushes it in exactly-once batches on a timer.
 */
export class UsageRecorder {
  private readonly clock: Clock;
  private readonly aggregator: UsageAggregator;
  private readonly pipeline: UsagePipeline;
  private snapshot: Snapshot | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** Wall-clock time refreshed by a timer: usage needs its 10 s bucket, not a clock read per call. */
  private coarseNow = 0;
  private coarse = false;

  constructor(private readonly options: UsageRecorderOptions) {
    this.clock = options.clock;
    this.aggregator = new UsageAggregator(options.metricsBucketMs);
    this.pipeline = new UsagePipeline(options.store, this.aggregator, {
      maxPendingBuckets: options.maxPendingBuckets,
      windowMs: options.windowMs,
      now: () => this.clock.now(),
      reportError: options.reportError,
      onDrain: options.onDrain,
      ...(options.readHealthMarks === undefined ? {} : { readHealthMarks: options.readHealthMarks }),
    });
  }

  /** Follows a new snapshot: usage of features it lacks is dropped, the rest goes under their stage. */
  follow(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.aggregator.retain(new Set(snapshot.features.keys()));
    const stages = new Map<string, number | undefined>();
    for (const [name, f] of snapshot.features) stages.set(name, f.record.stageVersion);
    this.aggregator.setStages(stages);
  }

  /** Starts the coarse clock (with the system clock) and the flush timer. */
  start(): void {
    if (this.clock === systemClock) {
      this.coarseNow = Date.now();
      this.coarse = true;
      this.timers.push(
        setInterval(() => {
          this.coarseNow = Date.now();
        }, COARSE_CLOCK_MS).unref(),
      );
    }
    this.timers.push(setInterval(() => void this.pipeline.flush(), this.options.flushIntervalMs).unref());
  }

  /** Stops the timers and sends what is buffered. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.coarse = false;
    await this.pipeline.flush();
  }

  /** See `CanaryRolloutService.recordUsage`. */
  record(userId: string, feature: string, arm: string, usage: FeatureUsage): void {
    // typeof checks only: this runs for every tracked call, so nothing here allocates.
    if (typeof usage !== 'object' || usage === null) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: trackFeatureUsage: usage must be an object with calls, successfulCalls, failedCalls or latency, got ${show(usage)}`,
      );
    }
    let { calls, successfulCalls, failedCalls } = usage;
    if (calls !== undefined) checkCount('calls', calls);
    if (successfulCalls !== undefined) checkCount('successfulCalls', successfulCalls);
    if (failedCalls !== undefined) checkCount('failedCalls', failedCalls);
    if (calls === undefined) calls = checkCount('calls', (successfulCalls ?? 0) + (failedCalls ?? 0));
    if (successfulCalls === undefined) successfulCalls = calls - (failedCalls ?? 0);
    if (failedCalls === undefined) failedCalls = calls - successfulCalls;
    if (successfulCalls < 0 || failedCalls < 0 || successfulCalls + failedCalls > calls) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: trackFeatureUsage: calls, successfulCalls and failedCalls must be whole numbers >= 0 with successes + failures <= calls, got ${show(calls)}, ${show(successfulCalls)}, ${show(failedCalls)}`,
      );
    }
    const latency = usage.latency;
    if (
      latency !== undefined &&
      !(typeof latency === 'number' && latency >= 0 && latency <= MAX_LATENCY_MS)
    ) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: trackFeatureUsage: latency must be a number of ms from 0 to ${MAX_LATENCY_MS}, got ${show(latency)}`,
      );
    }
    const snapshot = this.snapshot;
    if (snapshot === undefined || featureOf(snapshot, feature) === undefined) return;
    this.aggregator.record(
      this.coarse ? this.coarseNow : this.clock.now(),
      feature,
      arm,
      typeof userId === 'string' ? userId : '',
      calls,
      successfulCalls,
      failedCalls,
      latency ?? Number.NaN,
    );
  }

  /** One call's outcome, as `runFeature` measured it. */
  readonly recordOutcome = (
    userId: string,
    feature: string,
    arm: string,
    ok: boolean,
    latencyMs: number,
  ): void => {
    const now = this.coarse ? this.coarseNow : this.clock.now();
    this.aggregator.record(now, feature, arm, userId, 1, ok ? 1 : 0, ok ? 0 : 1, latencyMs);
  };

  /** Sends buffered usage; with `readFleet`, re-reads the fleet window afterwards. */
  flush(options: { readonly readFleet?: boolean } = {}): Promise<void> {
    return this.pipeline.flush(options);
  }

  /** Reads the fleet-wide window behind the status. */
  readFleet(): Promise<void> {
    return this.pipeline.readFleet();
  }

  /** The buckets behind the status: the fleet window and what this process recorded since. */
  buckets(): readonly MetricBucket[] {
    return this.pipeline.buckets();
  }

  /** See `CanaryRolloutService.unflushedCalls`. */
  unflushedCalls(): Map<string, number> {
    const calls = new Map<string, number>();
    for (const bucket of this.aggregator.peek()) {
      if (bucket.arm !== TREATMENT_ARM || bucket.calls === 0) continue;
      calls.set(bucket.feature, (calls.get(bucket.feature) ?? 0) + bucket.calls);
    }
    return calls;
  }

  /** Metric buckets waiting for the store (after failed flushes). */
  pendingCount(): number {
    return this.pipeline.pendingCount();
  }
}
