import type { MetricBucket } from '../schemas/records';
import { addCounts, addLatency } from '../storage/metric-merge';
import { HISTOGRAM_BINS, latencyBin, sparseHistogram } from './histogram';
import { HLL_REGISTERS, hllAdd, sparseRegisters } from './hyperloglog';

/** Counters of one (feature, arm, time bucket) while it is in memory. */
class Accumulator {
  calls = 0;
  successes = 0;
  failures = 0;
  latencyCount = 0;
  latencySumMs = 0;
  readonly histogram = new Uint32Array(HISTOGRAM_BINS);
  readonly users = new Uint8Array(HLL_REGISTERS);

  constructor(
    readonly feature: string,
    readonly arm: string,
    readonly bucketStart: number,
    readonly stage: number | undefined,
  ) {}

  toBucket(): MetricBucket {
    return {
      feature: this.feature,
      arm: this.arm,
      bucketStart: this.bucketStart,
      ...(this.stage === undefined ? {} : { stage: this.stage }),
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      latencyCount: this.latencyCount,
      latencySumMs: this.latencySumMs,
      histogram: sparseHistogram(this.histogram),
      users: sparseRegisters(this.users),
    };
  }
}

interface Slot {
  /** The feature's current stage (`stageVersion`): usage is recorded under it. */
  stage: number | undefined;
  current: Accumulator | null;
  /** Buckets whose time has passed, waiting for the next drain. */
  closed: Accumulator[];
}

/** The arm of traffic that ran the feature itself. */
export const TREATMENT_ARM = 'treatment';

/**
 * Aggregates usage in memory per (feature, arm, time bucket). Recording is O(1) and allocates
 * only when a new time bucket starts; memory grows with features x arms x unflushed buckets.
 */
export class UsageAggregator {
  private readonly slots = new Map<string, Slot>();
  private readonly armSlots = new Map<string, Map<string, Slot>>();
  private stages = new Map<string, number | undefined>();
  private lastNow = Number.NaN;
  private lastBucketStart = 0;
  /** The treatment slot used last: most calls record usage of the feature recorded before. */
  private lastFeature: string | undefined;
  private lastSlot: Slot | undefined;

  constructor(private readonly bucketMs: number) {}

  /**
   * Follows the features' stages (name to `stageVersion`): usage recorded from now on counts
   * toward the new stage, in a bucket of its own even within the same time bucket.
   */
  setStages(stages: Map<string, number | undefined>): void {
    this.stages = stages;
    for (const [feature, slot] of this.slots) slot.stage = stages.get(feature);
    for (const [feature, arms] of this.armSlots) {
      const stage = stages.get(feature);
      for (const slot of arms.values()) slot.stage = stage;
    }
  }

  /**
   * Adds usage. `latencyMs` is the mean latency of these calls, or NaN when not measured.
   * Callers validate (safe integers, finite latency); sums saturate instead of overflowing. This
   * is the hot path.
   */
  record(
    now: number,
    feature: string,
    arm: string,
    userId: string,
    calls: number,
    successes: number,
    failures: number,
    latencyMs: number,
  ): void {
    const slot = this.slot(feature, arm);
    // The clock moves every 100 ms at most when coarse: the remainder of a float is a library call.
    if (now !== this.lastNow) {
      this.lastNow = now;
      this.lastBucketStart = now - (now % this.bucketMs);
    }
    const bucketStart = this.lastBucketStart;
    let acc = slot.current;
    if (acc === null || acc.bucketStart !== bucketStart || acc.stage !== slot.stage) {
      if (acc !== null) slot.closed.push(acc);
      acc = new Accumulator(feature, arm, bucketStart, slot.stage);
      slot.current = acc;
    }
    acc.calls = addCounts(acc.calls, calls);
    acc.successes = addCounts(acc.successes, successes);
    acc.failures = addCounts(acc.failures, failures);
    if (!Number.isNaN(latencyMs) && calls > 0) {
      acc.latencyCount = addCounts(acc.latencyCount, calls);
      acc.latencySumMs = addLatency(acc.latencySumMs, latencyMs * calls);
      // A Uint32Array bin wraps past 2^32 - 1: it stops there instead.
      const bin = latencyBin(latencyMs);
      const binned = acc.histogram[bin]! + calls;
      acc.histogram[bin] = Math.min(binned, 0xffffffff);
    }
    if (userId.length !== 0) hllAdd(acc.users, userId);
  }

  /** Takes everything recorded so far, leaving the aggregator empty. */
  drain(): MetricBucket[] {
    const out: MetricBucket[] = [];
    for (const slot of this.allSlots()) {
      for (const acc of slot.closed) out.push(acc.toBucket());
      if (slot.current !== null) out.push(slot.current.toBucket());
      slot.closed = [];
      slot.current = null;
    }
    return out;
  }

  /** Everything recorded and not yet drained, without taking it. */
  peek(): MetricBucket[] {
    const out: MetricBucket[] = [];
    for (const slot of this.allSlots()) {
      for (const acc of slot.closed) out.push(acc.toBucket());
      if (slot.current !== null) out.push(slot.current.toBucket());
    }
    return out;
  }

  /** Forgets features no longer known, so memory follows the feature set. */
  retain(features: ReadonlySet<string>): void {
    this.lastFeature = undefined;
    this.lastSlot = undefined;
    for (const feature of this.slots.keys()) if (!features.has(feature)) this.slots.delete(feature);
    for (const feature of this.armSlots.keys()) if (!features.has(feature)) this.armSlots.delete(feature);
  }

  private slot(feature: string, arm: string): Slot {
    let slot: Slot | undefined;
    if (arm === TREATMENT_ARM) {
      if (feature === this.lastFeature && this.lastSlot !== undefined) return this.lastSlot;
      slot = this.slots.get(feature);
      if (slot === undefined) {
        slot = { stage: this.stages.get(feature), current: null, closed: [] };
        this.slots.set(feature, slot);
      }
      this.lastFeature = feature;
      this.lastSlot = slot;
      return slot;
    }
    let arms = this.armSlots.get(feature);
    if (arms === undefined) {
      arms = new Map();
      this.armSlots.set(feature, arms);
    }
    slot = arms.get(arm);
    if (slot === undefined) {
      slot = { stage: this.stages.get(feature), current: null, closed: [] };
      arms.set(arm, slot);
    }
    return slot;
  }

  private *allSlots(): Iterable<Slot> {
    yield* this.slots.values();
    for (const arms of this.armSlots.values()) yield* arms.values();
  }
}
