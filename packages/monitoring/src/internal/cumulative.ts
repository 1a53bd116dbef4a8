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
 */
export class CumulativeArms {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly settleMs: number) {}

  /** The arms of `record` since its stage began, as of `now`. */
  async read(store: RolloutStore, record: FeatureRecord, now: number): Promise<ArmTotals> {
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
    const stage = entry.stage;
    const stageStartedAt = entry.stageStartedAt;
    const buckets = (await store.readMetrics(entry.settledUntil, [record.name])).filter((b) =>
      b.stage === undefined || stage === undefined ? b.bucketStart >= stageStartedAt : b.stage === stage,
    );
    const settleBefore = Math.max(entry.settledUntil, now - this.settleMs);
    const out = new Map<string, MetricBucket>();
    for (const [arm, bucket] of entry.settled) out.set(arm, copy(bucket));
    for (const bucket of buckets) {
      if (bucket.bucketStart < settleBefore) add(entry.settled, bucket);
      add(out, bucket);
    }
    entry.settledUntil = settleBefore;
    return out;
  }

  /** Forgets features no longer known. */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.entries.keys()) if (!names.has(name)) this.entries.delete(name);
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
