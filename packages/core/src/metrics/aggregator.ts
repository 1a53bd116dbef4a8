import type { MetricBucket } from '../schemas/records';
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
  ) {}

  toBucket(): MetricBucket {
    return {
      feature: this.feature,
      arm: this.arm,
      bucketStart: this.bucketStart,
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

  constructor(private readonly bucketMs: number) {}

  /**
   * Adds usage. `latencyMs` is the mean latency of these calls, or NaN when not measured.
   * Callers validate; this is the hot path.
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
    const bucketStart = now - (now % this.bucketMs);
    let acc = slot.current;
    if (acc === null || acc.bucketStart !== bucketStart) {
      if (acc !== null) slot.closed.push(acc);
      acc = new Accumulator(feature, arm, bucketStart);
      slot.current = acc;
    }
    acc.calls += calls;
    acc.successes += successes;
    acc.failures += failures;
    if (!Number.isNaN(latencyMs) && calls > 0) {
      acc.latencyCount += calls;
      acc.latencySumMs += latencyMs * calls;
      acc.histogram[latencyBin(latencyMs)]! += calls;
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
    for (const feature of this.slots.keys()) if (!features.has(feature)) this.slots.delete(feature);
    for (const feature of this.armSlots.keys()) if (!features.has(feature)) this.armSlots.delete(feature);
  }

  private slot(feature: string, arm: string): Slot {
    let slot: Slot | undefined;
    if (arm === TREATMENT_ARM) {
      slot = this.slots.get(feature);
      if (slot === undefined) {
        slot = { current: null, closed: [] };
        this.slots.set(feature, slot);
      }
      return slot;
    }
    let arms = this.armSlots.get(feature);
    if (arms === undefined) {
      arms = new Map();
      this.armSlots.set(feature, arms);
    }
    slot = arms.get(arm);
    if (slot === undefined) {
      slot = { current: null, closed: [] };
      arms.set(arm, slot);
    }
    return slot;
  }

  private *allSlots(): Iterable<Slot> {
    yield* this.slots.values();
    for (const arms of this.armSlots.values()) yield* arms.values();
  }
}
