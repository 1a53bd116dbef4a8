import type { FeatureRecord, MetricBucket, RolloutStore } from '@canary-rollout/core';
import { addCounts, addLatency, emptyMetricBucket, mergeMetricBucket } from '@canary-rollout/core/store-kit';
import { sameCounts } from './bucket-counts';

/** A feature's metrics since its stage began, merged per arm. */
export type ArmTotals = ReadonlyMap<string, MetricBucket>;

/** Buckets of every feature (users included) read from `since` by the caller. */
export interface PrefetchedMetrics {
  readonly since: number;
  readonly buckets: readonly MetricBucket[];
}

/** One bucket of the stage not yet settled, as last read. */
interface Slot {
  bucket: MetricBucket;
  readonly stage: number | undefined;
  seenIn: number;
  next: Slot | undefined;
}

interface Entry {
  readonly stageStartedAt: number;
  readonly stage: number | undefined;
  /** Buckets starting before this are final, counted in `totals` and not read again. */
  settledUntil: number;
  /** Every bucket of the stage read so far, merged per arm. */
  totals: Map<string, MetricBucket>;
  /** The buckets before `settledUntil`, merged per arm: what survives the store losing data. */
  readonly settled: Map<string, MetricBucket>;
  /** The buckets read since `settledUntil`, per arm and start: a re-read adds only what changed. */
  readonly recent: Map<string, Map<number, Slot>>;
  /**
   * Set when a recent bucket went missing from a read (the store lost data): the entry goes back
   * to its settled totals and reads again from `settledUntil`.
   */
  stale: boolean;
  /** The totals as last handed out; a new map once they change, so callers can tell. */
  view: ArmTotals | undefined;
  /** Slots in `recent`, slots the current read saw, and the earliest start among them. */
  size: number;
  seen: number;
  oldestStart: number;
}

/**
 * Cumulative per-arm metrics of each feature since its stage began, for comparisons that need
 * growing data. Buckets older than `settleMs` are taken as final (every process has flushed
 * them) and not read again; a tick reads only the recent buckets, not the whole stage, and of
 * those adds only what changed since the last read (the same object, or the same counts, is
 * unchanged: deltas only add). The totals handed out are kept between reads and must not be
 * changed by the caller; while they stay the same, the same map is handed out.
 *
 * `readMany` asks the store once for every feature whose unsettled data is recent (from the
 * oldest of their starts, at most a few settle periods back) rather than once per feature: a
 * store scans its buckets on each read, so one read per feature made a tick quadratic in the
 * number of features. A feature whose stage began longer ago is read on its own the first time.
 */
export class CumulativeArms {
  private readonly entries = new Map<string, Entry>();
  private reads = 0;

  constructor(private readonly settleMs: number) {}

  /** The arms of `record` since its stage began, as of `now`. */
  async read(store: RolloutStore, record: FeatureRecord, now: number): Promise<ArmTotals> {
    return (await this.readMany(store, [record], now)).get(record.name)!;
  }

  /**
   * The arms of each record since its stage began, as of `now`. A failed read rejects, leaving
   * the merged data as it was: the next call reads the same buckets again.
   */
  async readMany(
    store: RolloutStore,
    records: readonly FeatureRecord[],
    now: number,
    prefetched?: PrefetchedMetrics,
  ): Promise<Map<string, ArmTotals>> {
    const entries = new Map<string, Entry>();
    for (const record of records) entries.set(record.name, this.entryOf(record, now));
    const { shared, since: sharedSince, alone } = this.plan(entries, now);
    const read: (readonly MetricBucket[])[] = [];
    if (shared.length > 0) {
      read.push(
        prefetched !== undefined && prefetched.since <= sharedSince
          ? prefetched.buckets
          : await store.readMetrics(sharedSince, shared),
      );
    }
    for (const name of alone) read.push(await store.readMetrics(entries.get(name)!.settledUntil, [name]));

    const pass = ++this.reads;
    for (const buckets of read) {
      for (let i = 0; i < buckets.length; i++) {
        const bucket = buckets[i]!;
        const entry = entries.get(bucket.feature);
        if (entry === undefined || bucket.bucketStart < entry.settledUntil || !inStage(entry, bucket))
          continue;
        place(entry, bucket, pass);
      }
    }
    const out = new Map<string, ArmTotals>();
    const stale: FeatureRecord[] = [];
    for (const record of records) {
      const entry = entries.get(record.name)!;
      settle(entry, Math.max(entry.settledUntil, now - this.settleMs), pass);
      if (entry.stale) {
        // What was counted recently is no longer in the store: keep what had settled (it is never
        // read again, so a wiped store must not erase it) and read the rest again.
        forgetRecent(entry);
        stale.push(record);
      } else {
        entry.view ??= new Map(entry.totals);
        out.set(record.name, entry.view);
      }
    }
    if (stale.length > 0)
      for (const [name, arms] of await this.readMany(store, stale, now)) out.set(name, arms);
    return out;
  }

  /**
   * Where the shared read of `records` would start, or undefined when some must be read alone:
   * a caller that reads every feature's buckets (with their users) from there anyway can hand
   * them to `readMany` and save it a read.
   */
  sharedSince(records: readonly FeatureRecord[], now: number): number | undefined {
    const entries = new Map<string, Entry>();
    for (const record of records) entries.set(record.name, this.entryOf(record, now));
    const { since, alone } = this.plan(entries, now);
    return alone.length === 0 ? since : undefined;
  }

  /** Unsettled data this far back is read in the shared read; older starts are read alone. */
  private plan(entries: ReadonlyMap<string, Entry>, now: number) {
    const horizon = now - 4 * this.settleMs;
    const shared: string[] = [];
    let since = Number.POSITIVE_INFINITY;
    const alone: string[] = [];
    for (const [name, entry] of entries) {
      if (entry.settledUntil >= horizon) {
        shared.push(name);
        since = Math.min(since, entry.settledUntil);
      } else alone.push(name);
    }
    return { shared, since, alone };
  }

  /** Forgets features no longer known. */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.entries.keys()) if (!names.has(name)) this.entries.delete(name);
  }

  private entryOf(record: FeatureRecord, now: number): Entry {
    let entry = this.entries.get(record.name);
    if (
      entry === undefined ||
      entry.stageStartedAt !== record.stageStartedAt ||
      entry.stage !== record.stageVersion
    ) {
      entry = {
        stageStartedAt: record.stageStartedAt,
        stage: record.stageVersion,
        // Buckets of the stage carry its number; reading from a little before its start (by
        // whichever clock wrote it) finds the bucket in which it began.
        settledUntil: Math.min(record.stageStartedAt, now) - this.settleMs,
        totals: new Map(),
        settled: new Map(),
        recent: new Map(),
        stale: false,
        view: undefined,
        size: 0,
        seen: 0,
        oldestStart: Number.POSITIVE_INFINITY,
      };
      this.entries.set(record.name, entry);
    }
    return entry;
  }
}

/** Counts a bucket read into the entry's totals: whole when new, its growth when re-read. */
function place(entry: Entry, bucket: MetricBucket, pass: number): void {
  let starts = entry.recent.get(bucket.arm);
  if (starts === undefined) {
    starts = new Map();
    entry.recent.set(bucket.arm, starts);
  }
  const head = starts.get(bucket.bucketStart);
  let slot = head;
  while (slot !== undefined && (slot.stage !== bucket.stage || slot.seenIn === pass)) slot = slot.next;
  let total = entry.totals.get(bucket.arm);
  if (total === undefined) {
    total = emptyMetricBucket(bucket.feature, bucket.arm, 0);
    entry.totals.set(bucket.arm, total);
  }
  entry.seen++;
  if (slot === undefined) {
    starts.set(bucket.bucketStart, { bucket, stage: bucket.stage, seenIn: pass, next: head });
    entry.size++;
    if (bucket.bucketStart < entry.oldestStart) entry.oldestStart = bucket.bucketStart;
    mergeMetricBucket(total, bucket);
    entry.view = undefined;
    return;
  }
  slot.seenIn = pass;
  const before = slot.bucket;
  slot.bucket = bucket;
  if (before === bucket || sameCounts(before, bucket)) return;
  addGrowth(total, before, bucket);
  entry.view = undefined;
}

/**
 * Stops following the buckets that are now final, adding them to the settled totals. A recent
 * bucket the read did not return went missing from the store: the entry is marked stale and
 * nothing settles, so the lost bucket is not kept as final.
 */
function settle(entry: Entry, settleBefore: number, pass: number): void {
  const complete = entry.seen === entry.size;
  entry.seen = 0;
  // Nothing went missing and nothing settles: no need to look at every bucket.
  if (complete && entry.oldestStart >= settleBefore) {
    entry.settledUntil = settleBefore;
    return;
  }
  if (!complete) {
    for (const starts of entry.recent.values())
      for (const head of starts.values())
        for (let slot: Slot | undefined = head; slot !== undefined; slot = slot.next)
          if (slot.seenIn !== pass) {
            entry.stale = true;
            return;
          }
  }
  let oldest = Number.POSITIVE_INFINITY;
  for (const [arm, starts] of entry.recent) {
    for (const [start, head] of starts) {
      if (start < settleBefore) {
        let total = entry.settled.get(arm);
        if (total === undefined) {
          total = emptyMetricBucket(head.bucket.feature, arm, 0);
          entry.settled.set(arm, total);
        }
        for (let slot: Slot | undefined = head; slot !== undefined; slot = slot.next) {
          mergeMetricBucket(total, slot.bucket);
          entry.size--;
        }
        starts.delete(start);
      } else if (start < oldest) oldest = start;
    }
  }
  entry.oldestStart = oldest;
  entry.settledUntil = settleBefore;
}

/** Back to the settled totals, with no recent bucket followed: the next read adds them again. */
function forgetRecent(entry: Entry): void {
  entry.totals = new Map();
  for (const [arm, total] of entry.settled) {
    const copy = emptyMetricBucket(total.feature, arm, 0);
    mergeMetricBucket(copy, total);
    entry.totals.set(arm, copy);
  }
  entry.recent.clear();
  entry.stale = false;
  entry.view = undefined;
  entry.size = 0;
  entry.seen = 0;
  entry.oldestStart = Number.POSITIVE_INFINITY;
}

/** Adds what `after` holds beyond `before` (the same bucket read earlier) into `total`. */
function addGrowth(total: MetricBucket, before: MetricBucket, after: MetricBucket): void {
  total.calls = addCounts(total.calls, after.calls - before.calls);
  total.successes = addCounts(total.successes, after.successes - before.successes);
  total.failures = addCounts(total.failures, after.failures - before.failures);
  total.latencyCount = addCounts(total.latencyCount, after.latencyCount - before.latencyCount);
  total.latencySumMs = addLatency(total.latencySumMs, after.latencySumMs - before.latencySumMs);
  for (const bin in after.histogram) {
    const grown = after.histogram[bin]! - (before.histogram[bin] ?? 0);
    if (grown !== 0) total.histogram[bin] = (total.histogram[bin] ?? 0) + grown;
  }
  // Registers only grow: the later bucket's are at least the earlier one's.
  for (const reg in after.users) {
    const rank = after.users[reg]!;
    if (rank > (total.users[reg] ?? 0)) total.users[reg] = rank;
  }
}

/** Whether `bucket` belongs to the entry's stage: by its number, else (unnumbered) by time. */
function inStage(entry: Entry, bucket: MetricBucket): boolean {
  return bucket.stage === undefined || entry.stage === undefined
    ? bucket.bucketStart >= entry.stageStartedAt
    : bucket.stage === entry.stage;
}
