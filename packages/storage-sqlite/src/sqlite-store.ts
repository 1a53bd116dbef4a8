import {
  type BetaUser,
  type FeatureRecord,
  type FeatureWrite,
  type Feedback,
  type LogEntry,
  type LogKind,
  type LogQuery,
  type MetricBatch,
  type MetricBucket,
  type MetricsReadOptions,
  notifyListeners,
  type RollbackRecord,
  type RollbackRequest,
  type RollbackResult,
  type RolloutState,
  type RolloutStore,
  type StoreChange,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { retryWhileBusy } from './internal/busy';
import { openConnection } from './internal/connection';
import { PREFIX } from './internal/constants';
import { toStoreError } from './internal/errors';
import { Session } from './internal/session';
import { type ResolvedOptions, resolveOptions, type SqliteStoreOptions } from './options';

/**
 * A `RolloutStore` in one SQLite database file through better-sqlite3, shared safely by several
 * processes: WAL mode, IMMEDIATE write transactions, and changes by other processes noticed by
 * polling `PRAGMA data_version`. Refuses files that are not its own instead of changing them.
 */
export class SqliteStore implements RolloutStore {
  private readonly options: ResolvedOptions;
  private session: Session | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(change: StoreChange) => void>();

  constructor(options: SqliteStoreOptions) {
    this.options = resolveOptions(options);
  }

  async open(): Promise<void> {
    if (this.session !== undefined) return;
    const { source, busyTimeoutMs, synchronous } = this.options;
    const connection = openConnection(source, { busyTimeoutMs, synchronous });
    try {
      this.session = new Session(connection, this.options);
    } catch (error) {
      if (connection.owned) connection.db.close();
      throw toStoreError(error, 'opening', connection.where);
    }
    this.timer = setInterval(() => this.poll(), this.options.pollIntervalMs);
    // Polling must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    const session = this.session;
    this.session = undefined;
    session?.close();
  }

  async readState(): Promise<RolloutState> {
    return this.use('readState', (s) => s.readState());
  }

  async putFeature(feature: FeatureWrite, expectedVersion: number | null): Promise<FeatureRecord> {
    return this.use('putFeature', (s) => s.putFeature(feature, expectedVersion));
  }

  async deleteFeature(name: string): Promise<boolean> {
    return this.use('deleteFeature', (s) => s.deleteFeature(name));
  }

  async registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    return this.use('registerUser', (s) => s.registerUser(user));
  }

  async getUser(id: string): Promise<BetaUser | undefined> {
    return this.use('getUser', (s) => s.getUser(id));
  }

  async getUserByEmail(email: string): Promise<BetaUser | undefined> {
    return this.use('getUserByEmail', (s) => s.getUserByEmail(email));
  }

  async listUsers(): Promise<BetaUser[]> {
    return this.use('listUsers', (s) => s.listUsers());
  }

  async removeUser(id: string): Promise<boolean> {
    return this.use('removeUser', (s) => s.removeUser(id));
  }

  async addBetaMember(feature: string, userId: string): Promise<boolean> {
    return this.use('addBetaMember', (s) => s.addBetaMember(feature, userId));
  }

  async removeBetaMember(feature: string, userId: string): Promise<boolean> {
    return this.use('removeBetaMember', (s) => s.removeBetaMember(feature, userId));
  }

  async addToBlacklist(userId: string): Promise<boolean> {
    return this.use('addToBlacklist', (s) => s.addToBlacklist(userId));
  }

  async removeFromBlacklist(userId: string): Promise<boolean> {
    return this.use('removeFromBlacklist', (s) => s.removeFromBlacklist(userId));
  }

  async appendFeedback(entry: Feedback): Promise<void> {
    this.use('appendFeedback', (s) => s.appendFeedback(entry));
  }

  async listFeedback(feature?: string): Promise<Feedback[]> {
    return this.use('listFeedback', (s) => s.listFeedback(feature));
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    this.use('addMetrics', (s) => s.addMetrics(deltas, batch));
  }

  async readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    return this.use('readMetrics', (s) => s.readMetrics(since, features, options.users !== false));
  }

  async appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    this.use('appendLog', (s) => s.appendLog(kind, entry));
  }

  async listLogs(kind: LogKind, query?: LogQuery): Promise<LogEntry[]> {
    return this.use('listLogs', (s) => s.listLogs(kind, query));
  }

  async rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    return this.use('rollback', (s) => s.rollback(feature, request));
  }

  async listRollbacks(feature?: string): Promise<RollbackRecord[]> {
    return this.use('listRollbacks', (s) => s.listRollbacks(feature));
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Runs an operation on the open session, turning SQLite's errors into core errors. */
  private use<T>(operation: string, fn: (session: Session) => T): T {
    const session = this.session;
    if (session === undefined) {
      throw new StoreUnavailableError(`${PREFIX}: ${operation} called while the store is not open`);
    }
    try {
      return retryWhileBusy(() => fn(session), this.options.busyTimeoutMs);
    } catch (error) {
      throw toStoreError(error, operation, session.where);
    }
  }

  private poll(): void {
    let version: number | undefined;
    try {
      version = this.session?.poll();
    } catch {
      // Busy or I/O trouble: the next tick looks again, and a change is still seen then.
      return;
    }
    if (version === undefined) return;
    notifyListeners(this.listeners, { version });
  }
}
