import {
  emptyMetricBucket,
  type FeatureRecord,
  type MetricBucket,
  mergeMetricBucket,
  type RolloutStore,
} from '@canary-rollout/core';

/** A feature's metrics since its stage began, merged per arm. */
export type ArmTotals = ReadonlyMap<string, MetricBucket>;

interface Entry {
  stageStartedAt: number;
  stage: number | undefined;
  /** Buckets starting before this are merged into `settled` and not read again. */
  settledUntil: number;
  settled: Map<string, MetricBucket>;
}

function copy(bucket: MetricBucket): MetricBucket {
  return { ...bucket, histogram: { ...bucket.histogram }, users: { ...bucket.users } };
}

/**
 * Cumulative per-arm metrics of each feature since its stage began, for comparisons that need
 * growing data. Buckets older than `settleMs` are taken as final (every process has flushed
 * them) and kept merged here, so a tick reads only the recent buckets, not the whole stage.
 *
 * `readMany` asks the store once for every feature whose unsettled data is recent (from the
 * oldest of their starts, at most a few settle periods back) rather than once per feature: a
 * store scans its buckets on each read, so one read per feature made a tick quadratic in the
 * number of features. A feature whose stage began longer ago is read on its own the first time.
 */
export class CumulativeArms {
  private readonly entries = new Map<string, Entry>();

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
  ): Promise<Map<string, ArmTotals>> {
    const entries = new Map<string, Entry>();
    for (const record of records) entries.set(record.name, this.entryOf(record, now));
    // Unsettled data this far back is read in the shared read; older starts are read alone.
    const horizon = now - 4 * this.settleMs;
    const shared: string[] = [];
    let sharedSince = Number.POSITIVE_INFINITY;
    const alone: string[] = [];
    for (const [name, entry] of entries) {
      if (entry.settledUntil >= horizon) {
        shared.push(name);
        sharedSince = Math.min(sharedSince, entry.settledUntil);
      } else alone.push(name);
    }
    const byFeature = new Map<string, MetricBucket[]>();
    const collect = (buckets: readonly MetricBucket[]) => {
      for (const bucket of buckets) {
        const entry = entries.get(bucket.feature);
        if (entry === undefined || bucket.bucketStart < entry.settledUntil || !inStage(entry, bucket))
          continue;
        const list = byFeature.get(bucket.feature);
        if (list === undefined) byFeature.set(bucket.feature, [bucket]);
        else list.push(bucket);
      }
    };
    if (shared.length > 0) collect(await store.readMetrics(sharedSince, shared));
    for (const name of alone) collect(await store.readMetrics(entries.get(name)!.settledUntil, [name]));

    const out = new Map<string, ArmTotals>();
    for (const [name, entry] of entries) {
      const settleBefore = Math.max(entry.settledUntil, now - this.settleMs);
      const arms = new Map<string, MetricBucket>();
      for (const [arm, bucket] of entry.settled) arms.set(arm, copy(bucket));
      for (const bucket of byFeature.get(name) ?? []) {
        if (bucket.bucketStart < settleBefore) add(entry.settled, bucket);
        add(arms, bucket);
      }
      entry.settledUntil = settleBefore;
      out.set(name, arms);
    }
    return out;
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
        settled: new Map(),
      };
      this.entries.set(record.name, entry);
    }
    return entry;
  }
}

function add(into: Map<string, MetricBucket>, bucket: MetricBucket): void {
  let total = into.get(bucket.arm);
  if (total === undefined) {
    total = emptyMetricBucket(bucket.feature, bucket.arm, 0);
    into.set(bucket.arm, total);
  }
  mergeMetricBucket(total, bucket);
}

/** Whether `bucket` belongs to the entry's stage: by its number, else (unnumbered) by time. */
function inStage(entry: Entry, bucket: MetricBucket): boolean {
  return bucket.stage === undefined || entry.stage === undefined
    ? bucket.bucketStart >= entry.stageStartedAt
    : bucket.stage === entry.stage;
}
