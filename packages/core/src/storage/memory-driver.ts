import type { MetricBucket } from '../schemas/records';
import { applyOperations, commitConflicts, jsonCopy } from './commit-apply';
import type {
  DriverCollection,
  DriverCommit,
  DriverCommitResult,
  DriverEntry,
  DriverLog,
  DriverLogQuery,
  DriverReadRequest,
  DriverSet,
  DriverSnapshot,
  RolloutDriver,
} from './driver';
import { ListenerSet } from './listeners';
import { emptyMetricBucket, mergeMetricBucket, metricKey } from './metric-merge';
import type { MetricBatch, MetricsReadOptions, StoreChange } from './types';

/** A stored entry of a memory collection. */
export interface MemoryEntry {
  value: unknown;
  version: number;
}

/** A stored memory set. */
export interface MemorySet {
  members: Set<string>;
  version: number;
}

/** A stored log line with the time `readLog` filters on. */
export interface MemoryLogLine {
  at: number;
  entry: unknown;
}

/**
 * The data behind one or more memory handles. Share one between handles to simulate several
 * processes on one store. Values are `unknown` on purpose: the store validates what it reads.
 */
export interface MemoryStoreData {
  /** +1 on every commit that changes an entry or a set. */
  version: number;
  /** Collection name to its entries. */
  collections: Map<string, Map<string, MemoryEntry>>;
  /** Set name (`blacklist`, `beta:<feature>`) to the set. */
  sets: Map<string, MemorySet>;
  /** Log name to its lines, oldest first. */
  logs: Map<string, MemoryLogLine[]>;
  /** Merged metric buckets by `metricKey`. */
  metrics: Map<string, MetricBucket>;
  /** Metric batches applied: writer to its last `seq`. */
  metricBatches: Map<string, number>;
  /** Open handles, told of each other's commits. */
  handles: Set<MemoryDriver>;
}

/** Creates empty data for `MemoryDriver` and `MemoryStore`. */
export function createMemoryStoreData(): MemoryStoreData {
  return {
    version: 0,
    collections: new Map(),
    sets: new Map(),
    logs: new Map(),
    metrics: new Map(),
    metricBatches: new Map(),
    handles: new Set(),
  };
}

/** The value under `key`, made and stored first when there is none. */
function held<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * The in-process driver: every primitive over plain maps. Handles created over the same `data`
 * see each other's commits like processes would (notified after the committing call returns).
 */
export class MemoryDriver implements RolloutDriver {
  /** The data behind this handle; pass it to another `MemoryDriver` to share it. */
  readonly data: MemoryStoreData;
  private readonly listeners = new ListenerSet();

  constructor(data: MemoryStoreData = createMemoryStoreData()) {
    this.data = data;
    this.data.handles.add(this);
  }

  async open(): Promise<void> {
    this.data.handles.add(this);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.data.handles.delete(this);
  }

  async read(request: DriverReadRequest): Promise<DriverSnapshot> {
    const collections: Partial<Record<DriverCollection, DriverEntry[]>> = {};
    // A collection asked for whole comes whole.
    const asked = new Map(Object.entries(request.entries ?? {}) as [DriverCollection, readonly string[]][]);
    for (const name of request.collections ?? []) {
      asked.set(name, [...(this.data.collections.get(name)?.keys() ?? [])]);
    }
    for (const [name, keys] of asked)
      collections[name] = this.entriesOf(name, keys).filter((e) => e !== undefined);
    const sets: Record<string, DriverSet> = Object.create(null);
    for (const name of request.sets ?? []) sets[name] = this.setOf(name);
    for (const prefix of request.setPrefixes ?? []) {
      for (const name of this.data.sets.keys()) if (name.startsWith(prefix)) sets[name] = this.setOf(name);
    }
    return { version: this.data.version, collections, sets };
  }

  async get(collection: DriverCollection, keys: readonly string[]): Promise<(DriverEntry | undefined)[]> {
    return this.entriesOf(collection, keys);
  }

  private entriesOf(collection: DriverCollection, keys: readonly string[]): (DriverEntry | undefined)[] {
    const entries = this.data.collections.get(collection);
    return keys.map((key) => {
      const e = entries?.get(key);
      return e === undefined ? undefined : { key, value: structuredClone(e.value), version: e.version };
    });
  }

  async commit(commit: DriverCommit): Promise<DriverCommitResult> {
    // Checked and applied with no await in between: that is what makes it atomic here.
    const conflicts = commitConflicts(commit, (x) =>
      'set' in x
        ? (this.data.sets.get(x.set)?.version ?? 0)
        : (this.data.collections.get(x.collection)?.get(x.key)?.version ?? null),
    );
    if (conflicts.length > 0) return { committed: false, conflicts };
    if (commit.operations.length === 0)
      return {
        committed: true,
        version: this.data.version,
        ...(commit.reportSetChanges ? { setChanges: [] } : {}),
      };
    const { appends, setChanges } = applyOperations(commit.operations, {
      collection: (name) => held(this.data.collections, name, () => new Map()),
      set: (name) => held(this.data.sets, name, () => ({ members: new Set(), version: 0 })),
    });
    for (const op of appends) {
      const lines = held(this.data.logs, op.log, () => []);
      lines.push({ at: op.at, entry: jsonCopy(op.entry) });
      if (lines.length > op.retain) lines.splice(0, lines.length - op.retain);
    }
    const reported = commit.reportSetChanges === true ? { setChanges } : {};
    if (commit.quiet === true || appends.length === commit.operations.length)
      return { committed: true, version: this.data.version, ...reported };
    this.data.version += 1;
    const change: StoreChange = { version: this.data.version };
    for (const handle of this.data.handles) {
      if (handle !== this) queueMicrotask(() => handle.listeners.notify(change));
    }
    return { committed: true, version: this.data.version, ...reported };
  }

  async readLog(log: DriverLog, query: DriverLogQuery = {}): Promise<unknown[]> {
    const lines = this.data.logs.get(log) ?? [];
    const { since, limit } = query;
    // Back from the newest, touching only the lines returned (and the one that ends the walk).
    const out: unknown[] = [];
    for (let i = lines.length - 1; i >= 0 && (limit === undefined || out.length < limit); i--) {
      const line = lines[i]!;
      if (since !== undefined && line.at < since) break;
      out.push(structuredClone(line.entry));
    }
    return out.reverse();
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    if (batch !== undefined) {
      const applied = this.data.metricBatches;
      if (batch.seq <= (applied.get(batch.writer) ?? 0)) return;
      applied.set(batch.writer, batch.seq);
    }
    for (const delta of deltas) {
      const key = metricKey(delta);
      const stored = this.data.metrics.get(key);
      // Copy on write: a stored bucket never changes, so reads can hand it out without copying.
      const bucket =
        stored === undefined
          ? emptyMetricBucket(delta.feature, delta.arm, delta.bucketStart, delta.stage)
          : copyBucket(stored);
      mergeMetricBucket(bucket, delta);
      this.data.metrics.set(key, freezeBucket(bucket));
    }
  }

  async readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    const users = options.users !== false;
    const wanted = features === undefined ? undefined : new Set(features);
    // Grouped by start, then the few distinct starts sorted: the order of a stable sort by
    // bucketStart without sorting every bucket (a monitor reads two windows of every feature).
    const byStart = new Map<number, MetricBucket[]>();
    for (const bucket of this.data.metrics.values()) {
      if (bucket.bucketStart < since) continue;
      if (wanted !== undefined && !wanted.has(bucket.feature)) continue;
      // Buckets stored by addMetrics are frozen and shared; one placed in the data by hand is copied.
      const shared = Object.isFrozen(bucket) ? bucket : freezeBucket(copyBucket(bucket));
      const group = byStart.get(bucket.bucketStart);
      if (group === undefined) byStart.set(bucket.bucketStart, [users ? shared : withoutUsers(shared)]);
      else group.push(users ? shared : withoutUsers(shared));
    }
    const out: MetricBucket[] = [];
    for (const start of [...byStart.keys()].sort((a, b) => a - b)) {
      for (const bucket of byStart.get(start)!) out.push(bucket);
    }
    return out;
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.listeners.add(listener);
  }

  private setOf(name: string): DriverSet {
    const set = this.data.sets.get(name);
    return set === undefined
      ? { members: [], version: 0 }
      : { members: [...set.members], version: set.version };
  }
}

/** A bucket is flat but for two maps of numbers: copying them is enough, and far cheaper than a deep clone. */
function copyBucket(bucket: MetricBucket): MetricBucket {
  return { ...bucket, histogram: { ...bucket.histogram }, users: { ...bucket.users } };
}

function freezeBucket(bucket: MetricBucket): MetricBucket {
  Object.freeze(bucket.histogram);
  Object.freeze(bucket.users);
  return Object.freeze(bucket);
}

const NO_USERS: MetricBucket['users'] = Object.freeze({});
/** The variant without user registers of each frozen bucket, made once on the first read that wants it. */
const light = new WeakMap<MetricBucket, MetricBucket>();

function withoutUsers(bucket: MetricBucket): MetricBucket {
  let out = light.get(bucket);
  if (out === undefined) {
    out = Object.freeze({ ...bucket, users: NO_USERS });
    light.set(bucket, out);
  }
  return out;
}
