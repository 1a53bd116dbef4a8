import {
  addCounts,
  addLatency,
  type FeatureRecord,
  type MetricBucket,
  type MetricsSummary,
  summarize,
  TREATMENT_ARM,
} from '@canary-rollout/core';

/** A feature's figures over the current window and the one before it. */
export interface FeatureWindows {
  readonly current: MetricsSummary;
  readonly previous: MetricsSummary;
  /** The counts behind `current` (no user registers); valid until the next `update`. */
  readonly counts: MetricBucket;
}

/** Where a bucket counts this tick. */
enum Side {
  None = 0,
  Current = 1,
  Previous = 2,
}

/** One stored bucket as last read, and where its latency bins were counted. */
interface Slot {
  bucket: MetricBucket;
  readonly stage: number | undefined;
  side: Side;
  /** The update that last read it. */
  seenIn: number;
  /** A bucket of another stage starting at the same time. */
  next: Slot | undefined;
}

/** What is kept per feature between updates. */
interface Totals {
  readonly slots: Map<number, Slot>;
  size: number;
  seen: number;
  stage: number | undefined;
  from: number;
  readonly current: MetricBucket;
  readonly previous: MetricBucket;
}

const NO_USERS: Readonly<Record<string, number>> = Object.freeze({});

/**
 * The current and previous windows of every feature, kept between ticks.
 *
 * Each tick the monitor reads the fleet's buckets from `now - 2 * windowMs` and hands them to
 * `update`. The counts of a window are summed afresh from them (a few additions per bucket, in
 * the order read, so the figures are exactly those of a merge); the latency bins, most of a
 * bucket's weight, are kept per window and only moved for buckets that changed, crossed a window
 * boundary, changed stage or left the read. A bucket is unchanged when it is the same object (the
 * memory store hands out frozen buckets) or has the same counts: deltas only add, and every
 * latency adds to both `latencyCount` and a bin.
 *
 * The current window of a feature holds the calls of its current stage: buckets recorded under
 * the record's `stageVersion`, the bucket in which the stage began included, whatever the clocks
 * of the processes that wrote the stage and the buckets say; wall time only bounds it to
 * `windowMs`. Calls made before a rollback or a percentage change belong to the stage they were
 * made in, so a rolled-back feature is not judged again on the calls that condemned it. Buckets
 * without a stage (written by older versions) are placed by time: from the later of the window
 * start and the stage start, leaving out the bucket that straddles it.
 */
export class WindowTotals {
  private readonly features = new Map<string, Totals>();
  private updates = 0;
  /** The latest bucket start of the last update (for the clock-skew check). */
  private latestStart = Number.NEGATIVE_INFINITY;

  /** Takes this tick's buckets (read from `now - 2 * windowMs`) for the given features. */
  update(
    buckets: readonly MetricBucket[],
    records: readonly FeatureRecord[],
    now: number,
    windowMs: number,
  ): void {
    const update = ++this.updates;
    const windowStart = now - windowMs;
    const previousStart = now - 2 * windowMs;
    const known = new Set<string>();
    for (const record of records) {
      known.add(record.name);
      let totals = this.features.get(record.name);
      if (totals === undefined) {
        totals = {
          slots: new Map(),
          size: 0,
          seen: 0,
          stage: undefined,
          from: 0,
          current: emptyCounts(record.name),
          previous: emptyCounts(record.name),
        };
        this.features.set(record.name, totals);
      }
      totals.stage = record.stageVersion;
      totals.from = Math.max(windowStart, record.stageStartedAt);
      totals.seen = 0;
      resetCounts(totals.current);
      resetCounts(totals.previous);
    }
    for (const name of this.features.keys()) if (!known.has(name)) this.features.delete(name);

    let latest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < buckets.length; i++) {
      const bucket = buckets[i]!;
      if (bucket.bucketStart > latest) latest = bucket.bucketStart;
      if (bucket.arm !== TREATMENT_ARM) continue;
      const totals = this.features.get(bucket.feature);
      if (totals === undefined) continue;
      const start = bucket.bucketStart;
      const inCurrent =
        bucket.stage === undefined || totals.stage === undefined
          ? start >= totals.from && start <= now
          : bucket.stage === totals.stage && start >= windowStart;
      const side = inCurrent
        ? Side.Current
        : start >= previousStart && start < windowStart
          ? Side.Previous
          : Side.None;
      this.place(totals, bucket, side, update);
      if (side === Side.Current) addScalars(totals.current, bucket);
      else if (side === Side.Previous) addScalars(totals.previous, bucket);
    }
    this.latestStart = latest;
    for (const totals of this.features.values()) {
      if (totals.seen !== totals.size) dropUnseen(totals, update);
    }
  }

  /** The windows of a feature as of the last update; undefined for a feature not given to it. */
  windows(feature: string): FeatureWindows | undefined {
    const totals = this.features.get(feature);
    if (totals === undefined) return undefined;
    return {
      current: summarize(totals.current),
      previous: summarize(totals.previous),
      counts: totals.current,
    };
  }

  /** The latest bucket start of the last update; -Infinity when it read none. */
  latestBucketStart(): number {
    return this.latestStart;
  }

  private place(totals: Totals, bucket: MetricBucket, side: Side, update: number): void {
    const head = totals.slots.get(bucket.bucketStart);
    let slot = head;
    // A second bucket of the same key in one read gets a slot of its own, as a merge would count it.
    while (slot !== undefined && (slot.stage !== bucket.stage || slot.seenIn === update)) slot = slot.next;
    totals.seen++;
    if (slot === undefined) {
      const added: Slot = { bucket, stage: bucket.stage, side, seenIn: update, next: head };
      totals.slots.set(bucket.bucketStart, added);
      totals.size++;
      addBins(binsOf(totals, side), bucket.histogram);
      return;
    }
    slot.seenIn = update;
    const before = slot.bucket;
    const changed = before !== bucket && !sameCounts(before, bucket);
    if (changed || slot.side !== side) {
      subtractBins(binsOf(totals, slot.side), before.histogram);
      addBins(binsOf(totals, side), bucket.histogram);
      slot.side = side;
    }
    slot.bucket = bucket;
  }
}

function binsOf(totals: Totals, side: Side): Record<string, number> | undefined {
  return side === Side.Current
    ? totals.current.histogram
    : side === Side.Previous
      ? totals.previous.histogram
      : undefined;
}

/** Forgets the slots an update did not read (expired, or gone from the store). */
function dropUnseen(totals: Totals, update: number): void {
  for (const [start, head] of totals.slots) {
    let kept: Slot | undefined;
    for (let slot: Slot | undefined = head; slot !== undefined; ) {
      const next: Slot | undefined = slot.next;
      if (slot.seenIn === update) {
        slot.next = kept;
        kept = slot;
      } else {
        subtractBins(binsOf(totals, slot.side), slot.bucket.histogram);
        totals.size--;
      }
      slot = next;
    }
    if (kept === undefined) totals.slots.delete(start);
    else totals.slots.set(start, kept);
  }
}

function sameCounts(a: MetricBucket, b: MetricBucket): boolean {
  return (
    a.calls === b.calls &&
    a.successes === b.successes &&
    a.failures === b.failures &&
    a.latencyCount === b.latencyCount &&
    a.latencySumMs === b.latencySumMs
  );
}

function emptyCounts(feature: string): MetricBucket {
  return {
    feature,
    arm: TREATMENT_ARM,
    bucketStart: 0,
    calls: 0,
    successes: 0,
    failures: 0,
    latencyCount: 0,
    latencySumMs: 0,
    histogram: Object.create(null) as Record<string, number>,
    users: NO_USERS,
  };
}

function resetCounts(into: MetricBucket): void {
  into.calls = 0;
  into.successes = 0;
  into.failures = 0;
  into.latencyCount = 0;
  into.latencySumMs = 0;
}

function addScalars(into: MetricBucket, bucket: MetricBucket): void {
  into.calls = addCounts(into.calls, bucket.calls);
  into.successes = addCounts(into.successes, bucket.successes);
  into.failures = addCounts(into.failures, bucket.failures);
  into.latencyCount = addCounts(into.latencyCount, bucket.latencyCount);
  into.latencySumMs = addLatency(into.latencySumMs, bucket.latencySumMs);
}

function addBins(into: Record<string, number> | undefined, bins: Readonly<Record<string, number>>): void {
  if (into === undefined) return;
  for (const bin in bins) {
    const count = bins[bin]!;
    if (count !== 0) into[bin] = (into[bin] ?? 0) + count;
  }
}

function subtractBins(
  into: Record<string, number> | undefined,
  bins: Readonly<Record<string, number>>,
): void {
  if (into === undefined) return;
  for (const bin in bins) {
    const left = (into[bin] ?? 0) - bins[bin]!;
    if (left > 0) into[bin] = left;
    else delete into[bin];
  }
}
