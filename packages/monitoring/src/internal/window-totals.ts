import type { FeatureRecord, MetricBucket, MetricsSummary } from '@canary-rollout/core';
import { TREATMENT_ARM } from '@canary-rollout/core/experiments';
import { summarize } from '@canary-rollout/core/monitor-kit';
import { mergeMetricBucket } from '@canary-rollout/core/store-kit';
import { sameCounts } from './bucket-counts';

/** A feature's figures over the current window and the one before it. */
export interface FeatureWindows {
  readonly current: MetricsSummary;
  readonly previous: MetricsSummary;
  /** The counts behind `current` (no user registers); valid until the next `update`. */
  readonly counts: MetricBucket;
}

/** Where a bucket counts this tick: in neither window, the current one or the previous one. */
type Side = 0 | 1 | 2;
const NONE = 0;
const CURRENT = 1;
const PREVIOUS = 2;

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
  /** Counts or bins changed since `view` was made. */
  changed: boolean;
  /** The windows as last handed out. */
  view: FeatureWindows | undefined;
}

const NO_USERS: Readonly<Record<string, number>> = Object.freeze({});

/**
 * The current and previous windows of every feature, kept between ticks.
 *
 * Each tick the monitor reads the fleet's buckets from `now - 2 * windowMs` and hands them to
 * `update`. The counts and latency bins of each window are kept, and only buckets that are new,
 * changed, crossed a window boundary, changed stage or left the read are taken off and added
 * again. A bucket is unchanged when it is the same object (the memory store hands out frozen
 * buckets) or has the same counts: deltas only add, and every latency adds to both
 * `latencyCount` and a bin. Summaries are made again only for features whose windows changed.
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
          changed: true,
          view: undefined,
        };
        this.features.set(record.name, totals);
      }
      totals.stage = record.stageVersion;
      totals.from = Math.max(windowStart, record.stageStartedAt);
      totals.seen = 0;
    }
    for (const name of this.features.keys()) if (!known.has(name)) this.features.delete(name);

    let latest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < buckets.length; i++) {
      const bucket = buckets[i]!;
      const start = bucket.bucketStart;
      if (start > latest) latest = start;
      if (start < previousStart || bucket.arm !== TREATMENT_ARM) continue;
      const totals = this.features.get(bucket.feature);
      if (totals === undefined) continue;
      const inCurrent =
        bucket.stage === undefined || totals.stage === undefined
          ? start >= totals.from && start <= now
          : bucket.stage === totals.stage && start >= windowStart;
      const side = inCurrent ? CURRENT : start < windowStart ? PREVIOUS : NONE;
      place(totals, bucket, side, update);
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
    // Summaries sort the bins: made again only when something changed.
    if (totals.view === undefined || totals.changed) {
      totals.view = {
        current: summarize(totals.current),
        previous: summarize(totals.previous),
        counts: totals.current,
      };
      totals.changed = false;
    }
    return totals.view;
  }

  /** The latest bucket start of the last update; -Infinity when it read none. */
  latestBucketStart(): number {
    return this.latestStart;
  }
}

/** Counts a bucket read on `side`: a new one is added, one moved or grown is taken off and added again. */
function place(totals: Totals, bucket: MetricBucket, side: Side, update: number): void {
  const head = totals.slots.get(bucket.bucketStart);
  let slot = head;
  // A second bucket of the same key in one read gets a slot of its own, as a merge would count it.
  while (slot !== undefined && (slot.stage !== bucket.stage || slot.seenIn === update)) slot = slot.next;
  totals.seen++;
  if (slot === undefined) {
    totals.slots.set(bucket.bucketStart, { bucket, stage: bucket.stage, side, seenIn: update, next: head });
    totals.size++;
    add(totals, side, bucket);
    return;
  }
  slot.seenIn = update;
  const before = slot.bucket;
  if (slot.side !== side || (before !== bucket && !sameCounts(before, bucket))) {
    remove(totals, slot.side, before);
    add(totals, side, bucket);
    slot.side = side;
  }
  slot.bucket = bucket;
}

function windowOf(totals: Totals, side: Side): MetricBucket | undefined {
  return side === CURRENT ? totals.current : side === PREVIOUS ? totals.previous : undefined;
}

function add(totals: Totals, side: Side, bucket: MetricBucket): void {
  const into = windowOf(totals, side);
  if (into === undefined) return;
  totals.changed = true;
  mergeMetricBucket(into, bucket, { users: false });
}

function remove(totals: Totals, side: Side, bucket: MetricBucket): void {
  const from = windowOf(totals, side);
  if (from === undefined) return;
  totals.changed = true;
  from.calls -= bucket.calls;
  from.successes -= bucket.successes;
  from.failures -= bucket.failures;
  from.latencyCount -= bucket.latencyCount;
  // A float sum taken apart drifts: none is left when no latency is.
  from.latencySumMs = from.latencyCount === 0 ? 0 : Math.max(0, from.latencySumMs - bucket.latencySumMs);
  const bins = bucket.histogram;
  for (const bin in bins) {
    const left = (from.histogram[bin] ?? 0) - bins[bin]!;
    if (left > 0) from.histogram[bin] = left;
    else delete from.histogram[bin];
  }
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
        remove(totals, slot.side, slot.bucket);
        totals.size--;
      }
      slot = next;
    }
    if (kept === undefined) totals.slots.delete(start);
    else totals.slots.set(start, kept);
  }
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
