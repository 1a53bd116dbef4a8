// #region driver
import * as kit from '@canary-rollout/core/store-kit';

const NAME = '@acme/map-store';

type Entry = { text: string; version: number };

/** Everything one store holds. Two drivers over the same data behave like two processes. */
export class MapStoreData {
  version = 0;
  /** `collection NUL key` to the value as JSON text: collections are data, not code. */
  readonly entries = new Map<string, Entry>();
  readonly sets = new Map<string, { members: Set<string>; version: number }>();
  readonly logs = new Map<string, { at: number; text: string }[]>();
  readonly metrics = new Map<string, kit.MetricBucket>();
  readonly batches = new Map<string, number>();
  readonly drivers = new Set<MapDriver>();
}

const id = (collection: string, key: string) => `${collection}\u0000${key}`;

/** A `RolloutDriver` over plain maps: core's `DriverStore` adds every rule on top. */
export class MapDriver implements kit.RolloutDriver {
  private readonly listeners = new Set<(change: kit.StoreChange) => void>();

  constructor(readonly data = new MapStoreData()) {}

  async open(): Promise<void> {
    this.data.drivers.add(this);
  }

  async close(): Promise<void> {
    this.data.drivers.delete(this);
    this.listeners.clear();
  }

  async read(request: kit.DriverReadRequest): Promise<kit.DriverSnapshot> {
    const collections: Record<string, kit.DriverEntry[]> = {};
    for (const name of request.collections ?? []) {
      const prefix = id(name, '');
      const entries = [...this.data.entries].filter(([k]) => k.startsWith(prefix));
      collections[name] = entries.map(([k, e]) => this.entry(name, k.slice(prefix.length), e));
    }
    for (const [name, keys = []] of Object.entries(request.entries ?? {})) {
      collections[name] ??= keys.flatMap((key) => {
        const e = this.data.entries.get(id(name, key));
        return e ? [this.entry(name, key, e)] : [];
      });
    }
    const prefixes = request.setPrefixes ?? [];
    const prefixed = [...this.data.sets.keys()].filter((n) => prefixes.some((p) => n.startsWith(p)));
    const sets: Record<string, kit.DriverSet> = {};
    for (const name of [...(request.sets ?? []), ...prefixed]) {
      const set = this.data.sets.get(name);
      sets[name] = { members: [...(set?.members ?? [])], version: set?.version ?? 0 };
    }
    return { version: this.data.version, collections, sets };
  }

  async get(collection: string, keys: readonly string[]): Promise<(kit.DriverEntry | undefined)[]> {
    return keys.map((key) => {
      const e = this.data.entries.get(id(collection, key));
      return e && this.entry(collection, key, e);
    });
  }

  async commit(commit: kit.DriverCommit): Promise<kit.DriverCommitResult> {
    const d = this.data;
    // No await from the checks to the last change: nothing else runs in between, so it is atomic.
    const conflicts = (commit.expect ?? []).flatMap((x) => {
      const entry = 'set' in x ? undefined : d.entries.get(id(x.collection, x.key));
      const found = 'set' in x ? (d.sets.get(x.set)?.version ?? 0) : (entry?.version ?? null);
      return found === x.version ? [] : [{ ...x, found }];
    });
    if (conflicts.length > 0) return { committed: false, conflicts };
    const touched = new Set<string>();
    // Per set add or remove, whether it changed the set: core then needs no read of the set.
    const setChanges: boolean[] = [];
    for (const op of commit.operations) {
      if (op.op === 'append') {
        const log = d.logs.get(op.log) ?? [];
        d.logs.set(op.log, log);
        log.push({ at: op.at, text: JSON.stringify(op.entry) });
        if (log.length > op.retain) log.splice(0, log.length - op.retain);
      } else if (op.op === 'put') {
        const k = id(op.collection, op.key);
        d.entries.set(k, { text: JSON.stringify(op.value), version: (d.entries.get(k)?.version ?? 0) + 1 });
      } else if (op.op === 'delete') {
        d.entries.delete(id(op.collection, op.key));
      } else {
        const set = d.sets.get(op.set) ?? { members: new Set<string>(), version: 0 };
        d.sets.set(op.set, set);
        if (!touched.has(op.set)) set.version += 1;
        touched.add(op.set);
        if (op.op === 'set-clear') set.members.clear();
        else {
          const size = set.members.size;
          for (const m of op.members) op.op === 'set-add' ? set.members.add(m) : set.members.delete(m);
          setChanges.push(set.members.size !== size);
        }
      }
    }
    if (commit.operations.some((op) => op.op !== 'append')) {
      const change = { version: ++d.version };
      for (const other of d.drivers)
        if (other !== this) queueMicrotask(() => kit.notifyListeners(other.listeners, change));
    }
    return commit.reportSetChanges
      ? { committed: true, version: d.version, setChanges }
      : { committed: true, version: d.version };
  }

  async readLog(log: string, { since, limit }: kit.DriverLogQuery = {}): Promise<unknown[]> {
    const lines = this.data.logs.get(log) ?? [];
    const out: unknown[] = [];
    // Back from the newest, reading only the lines returned.
    for (let i = lines.length - 1; i >= 0 && (limit === undefined || out.length < limit); i--) {
      const line = lines[i]!;
      if (since !== undefined && line.at < since) break;
      out.unshift(kit.parseJsonText(line.text, NAME, `the ${log} log`));
    }
    return out;
  }

  async addMetrics(deltas: readonly kit.MetricBucket[], batch?: kit.MetricBatch): Promise<void> {
    if (batch !== undefined) {
      if (batch.seq <= (this.data.batches.get(batch.writer) ?? 0)) return;
      this.data.batches.set(batch.writer, batch.seq);
    }
    for (const delta of deltas) {
      const key = kit.metricKey(delta);
      const empty = () => kit.emptyMetricBucket(delta.feature, delta.arm, delta.bucketStart, delta.stage);
      this.data.metrics.set(key, kit.mergeMetricBucket(this.data.metrics.get(key) ?? empty(), delta));
    }
  }

  async readMetrics(since: number, features?: readonly string[], options?: kit.MetricsReadOptions) {
    return [...this.data.metrics.values()]
      .filter((b) => b.bucketStart >= since && (features === undefined || features.includes(b.feature)))
      .sort((a, b) => a.bucketStart - b.bucketStart)
      .map((b) => ({ ...structuredClone(b), ...(options?.users === false ? { users: {} } : {}) }));
  }

  subscribe(listener: (change: kit.StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private entry(collection: string, key: string, e: Entry): kit.DriverEntry {
    // The location names the collection only: a key can be a user id, and user ids can be emails.
    const value = kit.parseJsonText(e.text, NAME, `the ${collection} collection`);
    return { key, value, version: e.version };
  }
}

/** The store an app opens: every `RolloutStore` operation, over the driver. */
export class MapStore extends kit.DriverStore {
  constructor(data?: MapStoreData) {
    super(new MapDriver(data), { name: NAME });
  }
}
// #endregion driver
