import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import {
  type BetaUser,
  betaUserSchema,
  type FeatureRecord,
  type FeatureWrite,
  type Feedback,
  featureRecordSchema,
  feedbackSchema,
  type LogEntry,
  type LogKind,
  logEntrySchema,
  type MetricBucket,
  metricBatchSchema,
  metricBucketSchema,
  type RollbackRecord,
  rollbackRecordSchema,
} from '../schemas/records';
import {
  emptyMetricBucket,
  mergeMetricBucket,
  metricKey,
  normalizeEmail,
  notifyListeners,
  planRollback,
} from './semantics';
import type {
  LogQuery,
  MetricBatch,
  MetricsReadOptions,
  RollbackRequest,
  RollbackResult,
  RolloutState,
  RolloutStore,
  StoreChange,
} from './types';
import { assertUserIdArgument, describeUserId } from './user-ids';
import { parseArgument, parseStored } from './validate';

/**
 * The data behind one or more `MemoryStore` handles. Share one between handles to simulate
 * several processes on one store. Values are `unknown` on purpose: reads validate them.
 */
export interface MemoryStoreData {
  version: number;
  features: Map<string, unknown>;
  beta: Map<string, Set<string>>;
  blacklist: Set<string>;
  users: Map<string, unknown>;
  feedback: unknown[];
  metrics: Map<string, MetricBucket>;
  /** Metric batches applied: writer to its last `seq` (created on first use). */
  metricBatches?: Map<string, number>;
  logs: Record<LogKind, unknown[]>;
  rollbacks: unknown[];
  handles: Set<MemoryStore>;
}

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /** Data shared with other handles; a fresh, empty store when omitted. */
  data?: MemoryStoreData;
  /** Entries kept per log. @default 10000 */
  maxLogEntries?: number;
}

/** Creates empty data for `MemoryStore`. */
export function createMemoryStoreData(): MemoryStoreData {
  return {
    version: 0,
    features: new Map(),
    beta: new Map(),
    blacklist: new Set(),
    users: new Map(),
    feedback: [],
    metrics: new Map(),
    metricBatches: new Map(),
    logs: { alerts: [], 'health-reports': [], audit: [] },
    rollbacks: [],
    handles: new Set(),
  };
}

const NAME = 'core/MemoryStore';

/**
 * An in-process store for unit tests and for apps' own tests. Not durable, not shared between
 * processes. Handles created over the same `data` see each other's changes like processes would.
 */
export class MemoryStore implements RolloutStore {
  /** The data behind this handle; pass it to another `MemoryStore` to share it. */
  readonly data: MemoryStoreData;
  private readonly maxLogEntries: number;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.data = options.data ?? createMemoryStoreData();
    this.maxLogEntries = options.maxLogEntries ?? 10_000;
    this.data.handles.add(this);
  }

  async open(): Promise<void> {
    this.closed = false;
    this.data.handles.add(this);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.data.handles.delete(this);
  }

  async readState(): Promise<RolloutState> {
    const features = [...this.data.features].map(([name, value]) =>
      parseStored(featureRecordSchema, value, NAME, `feature "${name}"`),
    );
    const beta: Record<string, string[]> = Object.create(null);
    for (const [feature, members] of this.data.beta) if (members.size > 0) beta[feature] = [...members];
    return {
      version: this.data.version,
      features: clone(features),
      beta,
      blacklist: [...this.data.blacklist],
    };
  }

  async putFeature(feature: FeatureWrite, expectedVersion: number | null): Promise<FeatureRecord> {
    const current = this.readFeature(feature.name);
    const found = current?.version ?? null;
    if (found !== expectedVersion) {
      throw new ConflictError(
        `@canary-rollout/core: feature "${feature.name}" is at version ${found ?? 'none'}, expected ${expectedVersion ?? 'none'}`,
      );
    }
    const next = parseArgument(
      featureRecordSchema,
      { ...clone(feature), version: (found ?? 0) + 1 },
      NAME,
      'putFeature',
    );
    this.data.features.set(next.name, clone(next));
    this.changed();
    return next;
  }

  async deleteFeature(name: string): Promise<boolean> {
    const existed = this.data.features.delete(name);
    this.data.beta.delete(name);
    if (existed) this.changed();
    return existed;
  }

  async registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    const valid = parseArgument(betaUserSchema, user, NAME, 'registerUser');
    // Check and insert with no await between them, so concurrent registrations of one email make one user.
    const existing = this.findUserByEmail(valid.email);
    if (existing !== undefined) return { user: existing, created: false };
    if (this.data.users.has(valid.id)) {
      throw new ConflictError(`@canary-rollout/core: user id ${describeUserId(valid.id)} is already taken`);
    }
    this.data.users.set(valid.id, clone(valid));
    this.changed();
    return { user: clone(valid), created: true };
  }

  async getUser(id: string): Promise<BetaUser | undefined> {
    const value = this.data.users.get(id);
    return value === undefined
      ? undefined
      : clone(parseStored(betaUserSchema, value, NAME, `user ${describeUserId(id)}`));
  }

  async getUserByEmail(email: string): Promise<BetaUser | undefined> {
    return this.findUserByEmail(email);
  }

  private findUserByEmail(email: string): BetaUser | undefined {
    const wanted = normalizeEmail(email);
    for (const [id, value] of this.data.users) {
      const user = parseStored(betaUserSchema, value, NAME, `user ${describeUserId(id)}`);
      if (normalizeEmail(user.email) === wanted) return clone(user);
    }
    return undefined;
  }

  async listUsers(): Promise<BetaUser[]> {
    const users = [...this.data.users].map(([id, value]) =>
      parseStored(betaUserSchema, value, NAME, `user ${describeUserId(id)}`),
    );
    return clone(users.sort((a, b) => a.createdAt - b.createdAt));
  }

  async removeUser(id: string): Promise<boolean> {
    if (!this.data.users.delete(id)) return false;
    for (const members of this.data.beta.values()) members.delete(id);
    this.data.blacklist.delete(id);
    this.data.feedback = this.data.feedback.filter((f) => (f as { userId?: unknown }).userId !== id);
    this.changed();
    return true;
  }

  async addBetaMember(feature: string, userId: string): Promise<boolean> {
    assertUserIdArgument(userId, NAME, 'addBetaMember');
    if (!this.data.features.has(feature))
      throw new NotFoundError(`@canary-rollout/core: unknown feature "${feature}"`);
    let members = this.data.beta.get(feature);
    if (members === undefined) {
      members = new Set();
      this.data.beta.set(feature, members);
    }
    if (members.has(userId)) return false;
    members.add(userId);
    this.changed();
    return true;
  }

  async removeBetaMember(feature: string, userId: string): Promise<boolean> {
    assertUserIdArgument(userId, NAME, 'removeBetaMember');
    const removed = this.data.beta.get(feature)?.delete(userId) ?? false;
    if (removed) this.changed();
    return removed;
  }

  async addToBlacklist(userId: string): Promise<boolean> {
    assertUserIdArgument(userId, NAME, 'addToBlacklist');
    if (this.data.blacklist.has(userId)) return false;
    this.data.blacklist.add(userId);
    this.changed();
    return true;
  }

  async removeFromBlacklist(userId: string): Promise<boolean> {
    assertUserIdArgument(userId, NAME, 'removeFromBlacklist');
    const removed = this.data.blacklist.delete(userId);
    if (removed) this.changed();
    return removed;
  }

  async appendFeedback(entry: Feedback): Promise<void> {
    this.data.feedback.push(clone(parseArgument(feedbackSchema, entry, NAME, 'appendFeedback')));
  }

  async listFeedback(feature?: string): Promise<Feedback[]> {
    const all = this.data.feedback.map((value, i) =>
      parseStored(feedbackSchema, value, NAME, `feedback #${i}`),
    );
    return clone(feature === undefined ? all : all.filter((f) => f.feature === feature));
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    const valid = deltas.map((d) => parseArgument(metricBucketSchema, d, NAME, 'addMetrics'));
    const id =
      batch === undefined ? undefined : parseArgument(metricBatchSchema, batch, NAME, 'addMetrics batch');
    if (id !== undefined) {
      this.data.metricBatches ??= new Map();
      const applied = this.data.metricBatches;
      if (id.seq <= (applied.get(id.writer) ?? 0)) return;
      applied.set(id.writer, id.seq);
    }
    for (const delta of valid) {
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

  async appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    const log = this.data.logs[kind];
    if (log === undefined)
      throw new InvalidArgumentError(`@canary-rollout/core: unknown log kind "${String(kind)}"`);
    log.push(clone(parseArgument(logEntrySchema, entry, NAME, 'appendLog')));
    if (log.length > this.maxLogEntries) log.splice(0, log.length - this.maxLogEntries);
  }

  async listLogs(kind: LogKind, query: LogQuery = {}): Promise<LogEntry[]> {
    const log = this.data.logs[kind];
    if (log === undefined)
      throw new InvalidArgumentError(`@canary-rollout/core: unknown log kind "${String(kind)}"`);
    let entries = log.map((value, i) => parseStored(logEntrySchema, value, NAME, `${kind} #${i}`));
    if (query.since !== undefined) {
      const since = query.since;
      entries = entries.filter((e) => e.at >= since);
    }
    if (query.limit !== undefined) entries = entries.slice(Math.max(0, entries.length - query.limit));
    return clone(entries);
  }

  async rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    const current = this.readFeature(feature);
    if (current === undefined) throw new NotFoundError(`@canary-rollout/core: unknown feature "${feature}"`);
    const plan = planRollback(current, this.data.beta.get(feature)?.size ?? 0, request);
    if (!plan.performed) return { performed: false, feature: current };
    this.data.features.set(feature, clone(plan.next));
    this.data.beta.delete(feature);
    this.data.rollbacks.push(clone(plan.record));
    this.changed();
    return { performed: true, feature: clone(plan.next), record: clone(plan.record) };
  }

  async listRollbacks(feature?: string): Promise<RollbackRecord[]> {
    const all = this.data.rollbacks.map((value, i) =>
      parseStored(rollbackRecordSchema, value, NAME, `rollback #${i}`),
    );
    return clone(feature === undefined ? all : all.filter((r) => r.feature === feature));
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readFeature(name: string): FeatureRecord | undefined {
    const value = this.data.features.get(name);
    return value === undefined
      ? undefined
      : parseStored(featureRecordSchema, value, NAME, `feature "${name}"`);
  }

  private changed(): void {
    this.data.version += 1;
    const change: StoreChange = { version: this.data.version };
    // Other handles hear of it after the current call returns, as a process would.
    for (const handle of this.data.handles) {
      if (handle === this || handle.closed) continue;
      queueMicrotask(() => handle.emit(change));
    }
  }

  private emit(change: StoreChange): void {
    notifyListeners(this.listeners, change);
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
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
