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
import { isBusy, retryWhileBusyAsync } from './internal/busy';
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
  /** The last write waiting for the lock, if any; later writes queue behind it. */
  private writeQueue: Promise<void> | undefined;
  private waiting = 0;
  /** An erasure whose WAL could not be truncated yet. */
  private erasurePending = false;

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
    return this.read('readState', (s) => s.readState());
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
    return this.read('getUser', (s) => s.getUser(id));
  }

  async getUserByEmail(email: string): Promise<BetaUser | undefined> {
    return this.read('getUserByEmail', (s) => s.getUserByEmail(email));
  }

  async listUsers(): Promise<BetaUser[]> {
    return this.read('listUsers', (s) => s.listUsers());
  }

  async removeUser(id: string): Promise<boolean> {
    const removed = await this.use('removeUser', (s) => s.removeUser(id));
    if (removed) await this.eraseFreedData();
    return removed;
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
    return this.use('appendFeedback', (s) => s.appendFeedback(entry));
  }

  async listFeedback(feature?: string): Promise<Feedback[]> {
    return this.read('listFeedback', (s) => s.listFeedback(feature));
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    return this.use('addMetrics', (s) => s.addMetrics(deltas, batch));
  }

  async readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    return this.read('readMetrics', (s) => s.readMetrics(since, features, options.users !== false));
  }

  async appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    return this.use('appendLog', (s) => s.appendLog(kind, entry));
  }

  async listLogs(kind: LogKind, query?: LogQuery): Promise<LogEntry[]> {
    return this.read('listLogs', (s) => s.listLogs(kind, query));
  }

  async rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    return this.use('rollback', (s) => s.rollback(feature, request));
  }

  async listRollbacks(feature?: string): Promise<RollbackRecord[]> {
    return this.read('listRollbacks', (s) => s.listRollbacks(feature));
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Runs a write on the open session, turning SQLite's errors into core errors. A write that
   * finds the database locked by another process is tried again without blocking the event loop
   * (see `retryWhileBusyAsync`) until `busyTimeoutMs` after the call; writes called meanwhile
   * wait behind it, so this handle's writes keep their order.
   */
  private use<T>(operation: string, fn: (session: Session) => T): Promise<T> {
    const session = this.session;
    if (session === undefined) return Promise.reject(notOpen(operation));
    const deadline = Date.now() + this.options.busyTimeoutMs;
    if (this.waiting === 0) {
      try {
        return Promise.resolve(fn(session));
      } catch (error) {
        if (!isBusy(error)) return Promise.reject(toStoreError(error, operation, session.where));
      }
    }
    this.waiting += 1;
    const result = (this.writeQueue ?? Promise.resolve())
      // One attempt per turn of the event loop: queued writes retried back to back would each
      // block for a busy slice, adding up to a long stall.
      .then(() => new Promise((resolve) => setImmediate(resolve)))
      .then(() => retryWhileBusyAsync(() => fn(this.current(operation, session)), deadline - Date.now()));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.writeQueue = tail;
    void tail.then(() => {
      this.waiting -= 1;
      if (this.writeQueue === tail) this.writeQueue = undefined;
    });
    return result.catch((error: unknown) => {
      throw toStoreError(error, operation, session.where);
    });
  }

  /** Runs a read: in WAL mode readers are rarely busy; when they are, they retry like writes, without waiting in line. */
  private read<T>(operation: string, fn: (session: Session) => T): Promise<T> {
    const session = this.session;
    if (session === undefined) return Promise.reject(notOpen(operation));
    return retryWhileBusyAsync(() => fn(this.current(operation, session)), this.options.busyTimeoutMs).catch(
      (error: unknown) => {
        throw toStoreError(error, operation, session.where);
      },
    );
  }

  /** The session an operation started on, unless the store was closed while it waited. */
  private current(operation: string, session: Session): Session {
    if (this.session !== session) throw notOpen(operation);
    return session;
  }

  /**
   * After an erasure, copies the WAL back into the database and truncates it: deleted rows are
   * zeroed in the database (`secure_delete`), but the WAL still holds the pages that had them.
   * Other connections' readers can hold the checkpoint off; it is tried again, without blocking,
   * until `busyTimeoutMs`, and after that at every poll until it succeeds.
   */
  private async eraseFreedData(): Promise<void> {
    this.erasurePending = true;
    const deadline = Date.now() + this.options.busyTimeoutMs;
    let pauseMs = 2;
    for (;;) {
      const session = this.session;
      if (session === undefined || this.tryErase(session)) return;
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      pauseMs = Math.min(50, pauseMs * 2);
    }
  }

  private tryErase(session: Session): boolean {
    try {
      if (session.truncateWal()) this.erasurePending = false;
    } catch {
      // Busy or I/O trouble: tried again shortly, then at every poll.
    }
    return !this.erasurePending;
  }

  private poll(): void {
    if (this.erasurePending && this.session !== undefined) this.tryErase(this.session);
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

function notOpen(operation: string): StoreUnavailableError {
  return new StoreUnavailableError(`${PREFIX}: ${operation} called while the store is not open`);
}
