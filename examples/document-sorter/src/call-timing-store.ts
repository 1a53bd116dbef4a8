import type {
  BetaUser,
  FeatureRecord,
  Feedback,
  MetricBucket,
  RollbackRecord,
  RolloutState,
  RolloutStore,
  Segment,
  StoreChange,
} from '@canary-rollout/core';
import type {
  FeatureWrite,
  LogEntry,
  LogKind,
  LogQuery,
  MetaRecord,
  MetricBatch,
  MetricsReadOptions,
  PutFeatureOptions,
  RollbackRequest,
  RollbackResult,
} from '@canary-rollout/core/store-kit';

/** Options of `CallTimingStore`. */
export interface CallTimingStoreOptions {
  /** Calls slower than this are reported (ms). @default 200 */
  readonly slowMs?: number;
  /** Receives the operation's name and duration; never its arguments, which hold personal data. */
  readonly onSlowCall: (operation: string, ms: number) => void;
}

// #region store
/**
 * A store written outside canary-rollout: it wraps any other store and reports slow calls, so the
 * app sees when its file system or database drags. Like every store it passes the conformance
 * suite (test/call-timing-store-conformance.test.ts).
 */
export class CallTimingStore implements RolloutStore {
  private readonly slowMs: number;

  constructor(
    private readonly inner: RolloutStore,
    private readonly options: CallTimingStoreOptions,
  ) {
    this.slowMs = options.slowMs ?? 200;
  }

  private async timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      const ms = performance.now() - started;
      if (ms > this.slowMs) this.options.onSlowCall(operation, ms);
    }
  }

  open(): Promise<void> {
    return this.timed('open', () => this.inner.open());
  }
  close(): Promise<void> {
    return this.timed('close', () => this.inner.close());
  }
  readState(): Promise<RolloutState> {
    return this.timed('readState', () => this.inner.readState());
  }
  putFeature(
    feature: FeatureWrite,
    expectedVersion: number | null,
    options?: PutFeatureOptions,
  ): Promise<FeatureRecord> {
    return this.timed('putFeature', () => this.inner.putFeature(feature, expectedVersion, options));
  }
  deleteFeature(name: string): Promise<boolean> {
    return this.timed('deleteFeature', () => this.inner.deleteFeature(name));
  }
  registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    return this.timed('registerUser', () => this.inner.registerUser(user));
  }
  getUser(id: string): Promise<BetaUser | undefined> {
    return this.timed('getUser', () => this.inner.getUser(id));
  }
  getUserByEmail(email: string): Promise<BetaUser | undefined> {
    return this.timed('getUserByEmail', () => this.inner.getUserByEmail(email));
  }
  listUsers(): Promise<BetaUser[]> {
    return this.timed('listUsers', () => this.inner.listUsers());
  }
  removeUser(id: string): Promise<boolean> {
    return this.timed('removeUser', () => this.inner.removeUser(id));
  }
  addBetaMember(feature: string, userId: string): Promise<boolean> {
    return this.timed('addBetaMember', () => this.inner.addBetaMember(feature, userId));
  }
  removeBetaMember(feature: string, userId: string): Promise<boolean> {
    return this.timed('removeBetaMember', () => this.inner.removeBetaMember(feature, userId));
  }
  addToBlacklist(userId: string): Promise<boolean> {
    return this.timed('addToBlacklist', () => this.inner.addToBlacklist(userId));
  }
  removeFromBlacklist(userId: string): Promise<boolean> {
    return this.timed('removeFromBlacklist', () => this.inner.removeFromBlacklist(userId));
  }
  appendFeedback(entry: Feedback): Promise<void> {
    return this.timed('appendFeedback', () => this.inner.appendFeedback(entry));
  }
  listFeedback(feature?: string): Promise<Feedback[]> {
    return this.timed('listFeedback', () => this.inner.listFeedback(feature));
  }
  addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    return this.timed('addMetrics', () => this.inner.addMetrics(deltas, batch));
  }
  readMetrics(
    since: number,
    features?: readonly string[],
    options?: MetricsReadOptions,
  ): Promise<MetricBucket[]> {
    return this.timed('readMetrics', () => this.inner.readMetrics(since, features, options));
  }
  appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    return this.timed('appendLog', () => this.inner.appendLog(kind, entry));
  }
  listLogs(kind: LogKind, query?: LogQuery): Promise<LogEntry[]> {
    return this.timed('listLogs', () => this.inner.listLogs(kind, query));
  }
  rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    return this.timed('rollback', () => this.inner.rollback(feature, request));
  }
  listRollbacks(feature?: string): Promise<RollbackRecord[]> {
    return this.timed('listRollbacks', () => this.inner.listRollbacks(feature));
  }
  putSegment(name: string, segment: Segment): Promise<Segment> {
    return this.timed('putSegment', () => this.inner.putSegment(name, segment));
  }
  deleteSegment(name: string): Promise<boolean> {
    return this.timed('deleteSegment', () => this.inner.deleteSegment(name));
  }
  readMeta(prefix?: string): Promise<MetaRecord[]> {
    return this.timed('readMeta', () => this.inner.readMeta(prefix));
  }
  putMeta(key: string, value: unknown, expectedVersion: number | null): Promise<MetaRecord> {
    return this.timed('putMeta', () => this.inner.putMeta(key, value, expectedVersion));
  }
  deleteMeta(key: string, expectedVersion?: number): Promise<boolean> {
    return this.timed('deleteMeta', () => this.inner.deleteMeta(key, expectedVersion));
  }
  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.inner.subscribe(listener);
  }
}
// #endregion store
