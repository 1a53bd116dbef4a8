import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type MetricBatch,
  type MetricBucket,
  mergeMetricBuckets,
  validStoredBucket,
} from '@canary-rollout/core/store-kit';
import { FORMAT_VERSION } from '../format';
import { layoutOf } from '../layout';
import type { ResolvedFileStoreOptions } from '../options';
import { commitFiles, type FileWrite } from './atomic-write';
import type { DecodedFiles } from './decoded-files';
import { readJsonFile } from './documents';
import { corruptedData as corrupted, storeError, unlessMissing } from './fs-utils';

/** `metrics/batches.json`: the last metric batch applied per writer, written with the shards it touched. */
type Writers = Record<string, { seq: number; at: number }>;

/** Compact JSON: the metrics documents are large, rewritten often and read by programs. */
const compact = (doc: object): string => `${JSON.stringify({ formatVersion: FORMAT_VERSION, ...doc })}\n`;

/** `metrics/buckets-<start>.json`: the merged buckets of one time shard, validated and frozen (they are shared). */
function readShard(path: string, files: DecodedFiles): Promise<readonly MetricBucket[]> {
  return readJsonFile(files, path, [], ({ buckets }) => {
    if (!Array.isArray(buckets)) throw corrupted(path, 'buckets: expected an array');
    return buckets.map((b, i) =>
      freezeBucket(validStoredBucket(b, 'storage-file', `${path} (buckets.${i})`)),
    );
  });
}

function readWriters(path: string, files: DecodedFiles): Promise<Writers> {
  return readJsonFile(files, path, Object.create(null) as Writers, (root) => {
    const given = root['writers'] ?? {};
    if (typeof given !== 'object' || given === null) throw corrupted(path, 'writers: expected an object');
    const writers: Writers = Object.create(null);
    for (const [writer, e] of Object.entries(given as Record<string, { seq?: unknown; at?: unknown }>)) {
      if (!Number.isSafeInteger(e?.seq) || !Number.isSafeInteger(e?.at))
        throw corrupted(path, `writers.${writer}: expected seq and at`);
      writers[writer] = { seq: e.seq as number, at: e.at as number };
    }
    return writers;
  });
}

function freezeBucket(bucket: MetricBucket): MetricBucket {
  Object.freeze(bucket.histogram);
  Object.freeze(bucket.users);
  return Object.freeze(bucket);
}

const SHARD_NAME = /^buckets-(\d+)\.json$/;

/**
 * Merged metric buckets, one document per time shard (`metrics/buckets-<shardStart>.json`).
 * A day of 10 s buckets for a few features is far too much to rewrite on every flush as one
 * document; a flush touches the newest shard or two, and retention deletes whole shards.
 */
export class MetricShards {
  private readonly dir: string;

  constructor(
    private readonly options: ResolvedFileStoreOptions,
    private readonly files: DecodedFiles,
  ) {
    this.dir = layoutOf(options.dir).metricsDir;
  }

  /**
   * Adds deltas (validated) into their shards and prunes old shards. The caller holds the lock.
   * With `batch`, skips a batch applied before; the batch is noted in `batches.json` in the same
   * commit as the shards, so a commit that happened is never applied twice.
   */
  async add(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    const { metricsShardMs: shardMs, metricsRetentionMs: retentionMs, now, dir: root } = this.options;
    const batchesPath = join(this.dir, 'batches.json');
    const batches = batch && (await readWriters(batchesPath, this.files));
    if (batch && batch.seq <= (batches?.[batch.writer]?.seq ?? Number.NEGATIVE_INFINITY)) return;
    const groups = new Map<number, MetricBucket[]>();
    for (const delta of deltas) {
      const shard = delta.bucketStart - (delta.bucketStart % shardMs);
      const group = groups.get(shard) ?? [];
      groups.set(shard, group);
      group.push(delta);
    }
    const existing = await this.list();
    const newest = Math.max(...existing, ...deltas.map((d) => d.bucketStart));
    // Age is measured from the newest bucket, or from now when that is earlier, so a writer whose
    // clock is far ahead cannot wipe the others' recent buckets, and replayed old data is kept.
    const cutoff = Math.min(newest, now()) - retentionMs;
    const writes: (FileWrite & { value: unknown })[] = [];
    for (const [shard, group] of groups) {
      if (shard + shardMs <= cutoff) continue;
      const path = this.path(shard);
      const buckets = mergeMetricBuckets([...(await readShard(path, this.files)), ...group])
        .filter((b) => b.bucketStart >= cutoff)
        .sort((a, b) => a.bucketStart - b.bucketStart);
      writes.push({ path, data: compact({ buckets }), backup: true, value: buckets.map(freezeBucket) });
    }
    if (batch !== undefined && batches !== undefined) {
      const at = now();
      const writers: Writers = Object.create(null);
      // Writers not heard from for the retention are forgotten; their batches have aged out too.
      for (const [writer, entry] of Object.entries(batches)) {
        if (entry.at >= at - retentionMs) writers[writer] = entry;
      }
      writers[batch.writer] = { seq: batch.seq, at };
      writes.push({ path: batchesPath, data: compact({ writers }), backup: true, value: writers });
    }
    if (writes.length > 0) await commitFiles(root, writes);
    for (const write of writes) await this.files.wrote(write.path, write.value);
    for (const shard of existing) {
      if (shard + shardMs > cutoff) continue;
      for (const file of [this.path(shard), `${this.path(shard)}.bak`]) {
        await unlessMissing(unlink(file), undefined);
      }
    }
  }

  /** Buckets from `since` on, of `features` (or all), by start; `users: false` leaves out their registers. */
  async read(since: number, features?: readonly string[], users = true): Promise<MetricBucket[]> {
    const wanted = features === undefined ? undefined : new Set(features);
    const out: MetricBucket[] = [];
    for (const shard of await this.list()) {
      if (shard + this.options.metricsShardMs <= since) continue;
      // A shard pruned by another process since the listing reads as empty.
      for (const b of await readShard(this.path(shard), this.files)) {
        if (b.bucketStart >= since && (wanted === undefined || wanted.has(b.feature))) {
          out.push(users ? b : { ...b, users: {} });
        }
      }
    }
    return out.sort((a, b) => a.bucketStart - b.bucketStart);
  }

  private path(shard: number): string {
    return join(this.dir, `buckets-${shard}.json`);
  }

  private async list(): Promise<number[]> {
    const names = await unlessMissing(readdir(this.dir), []).catch((error: unknown) => {
      throw storeError('list', this.dir, error);
    });
    const starts = names.map((name) => SHARD_NAME.exec(name)?.[1]).filter((start) => start !== undefined);
    return starts.map(Number).sort((a, b) => a - b);
  }
}
