import {
  commitConflicts,
  type DriverCollection,
  type DriverCommit,
  type DriverCommitResult,
  type DriverEntry,
  type DriverLog,
  type DriverLogQuery,
  type DriverReadRequest,
  type DriverSet,
  type DriverSnapshot,
  ListenerSet,
  type MetricBatch,
  type MetricBucket,
  type MetricsReadOptions,
  parseJsonText,
  type RolloutDriver,
  type StoreChange,
  StoreUnavailableError,
} from '@canary-rollout/core/store-kit';
import type Database from 'better-sqlite3';
import type { ResolvedOptions } from '../options';
import { retryWhileBusyAsync } from './busy';
import { openConnection } from './connection';
import { PREFIX, STORE_NAME } from './constants';
import { isBusy, toStoreError } from './errors';
import { MetricWriter } from './metric-writer';
import { prepareStatements, type Statements } from './statements';
import { Transactor } from './transactor';

/** One open connection with what runs on it. */
interface OpenDatabase {
  readonly db: Database.Database;
  readonly where: string;
  readonly owned: boolean;
  readonly st: Statements;
  readonly t: Transactor;
  readonly metrics: MetricWriter;
}

/**
 * The driver of `SqliteStore`: collections, sets and logs in three tables of one SQLite file,
 * each commit one BEGIN IMMEDIATE transaction, changes by other processes noticed by polling
 * `PRAGMA data_version`.
 */
export class SqliteDriver implements RolloutDriver {
  private handle: OpenDatabase | undefined;
  private opening: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new ListenerSet();
  /** The last write waiting for the lock, if any; later writes queue behind it. */
  private writeQueue: Promise<void> | undefined;
  private waiting = 0;
  /** An erasure whose WAL could not be truncated yet. */
  private erasurePending = false;

  constructor(private readonly options: ResolvedOptions) {}

  open(): Promise<void> {
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(): Promise<void> {
    if (this.handle !== undefined) return;
    const { source, busyTimeoutMs, synchronous } = this.options;
    const connection = await openConnection(source, { busyTimeoutMs, synchronous });
    try {
      const st = prepareStatements(connection.db);
      this.handle = {
        ...connection,
        st,
        t: new Transactor(connection.db, st),
        metrics: new MetricWriter(st, this.options),
      };
    } catch (error) {
      if (connection.owned) connection.db.close();
      throw toStoreError(error, 'opening', connection.where);
    }
    this.timer = setInterval(() => this.poll(), this.options.pollIntervalMs);
    // Polling must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => {});
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    const handle = this.handle;
    this.handle = undefined;
    if (handle?.owned && handle.db.open) handle.db.close();
  }

  read(request: DriverReadRequest): Promise<DriverSnapshot> {
    return this.reading(request.operation ?? 'read', (h) =>
      h.t.read(() => {
        const collections: Partial<Record<DriverCollection, DriverEntry[]>> = {};
        for (const [name, keys = []] of Object.entries(request.entries ?? {})) {
          collections[name as DriverCollection] = this.entriesOf(h, name, keys).filter(
            (e) => e !== undefined,
          );
        }
        for (const name of request.collections ?? []) {
          collections[name] = h.st.entries.all(name).map((row) => this.entry(name, row));
        }
        const sets: Record<string, DriverSet> = Object.create(null);
        for (const name of request.sets ?? []) {
          sets[name] = { members: h.st.setMembers.all(name), version: h.st.setVersion.get(name) ?? 0 };
        }
        for (const prefix of request.setPrefixes ?? []) {
          const members = new Map<string, string[]>();
          for (const [name, member] of h.st.membersWithPrefix.all(prefix.length, prefix)) {
            const list = members.get(name);
            if (list === undefined) members.set(name, [member]);
            else list.push(member);
          }
          for (const [name, version] of h.st.setsWithPrefix.all(prefix.length, prefix)) {
            sets[name] = { members: members.get(name) ?? [], version };
          }
        }
        return { version: h.st.stateVersion.get() ?? 0, collections, sets };
      }),
    );
  }

  get(
    collection: DriverCollection,
    keys: readonly string[],
    operation = 'get',
  ): Promise<(DriverEntry | undefined)[]> {
    return this.reading(operation, (h) => h.t.read(() => this.entriesOf(h, collection, keys)));
  }

  private entriesOf(
    h: OpenDatabase,
    collection: string,
    keys: readonly string[],
  ): (DriverEntry | undefined)[] {
    return keys.map((key) => {
      const row = h.st.entry.get(collection, key);
      return row === undefined ? undefined : this.entry(collection, row);
    });
  }

  async commit(commit: DriverCommit): Promise<DriverCommitResult> {
    const result = await this.writing(commit.operation ?? 'commit', (h) =>
      h.t.write(() => this.commitIn(h, commit)),
    );
    // Deleted rows are zeroed in the database (`secure_delete`); the WAL still holds their pages.
    if (result.committed && commit.operations.some((op) => op.op === 'delete' && op.collection === 'users')) {
      await this.eraseFreedData();
    }
    return result;
  }

  private commitIn(h: OpenDatabase, commit: DriverCommit): DriverCommitResult {
    const { st, t } = h;
    const conflicts = commitConflicts(commit, (x) =>
      'set' in x ? (st.setVersion.get(x.set) ?? 0) : (st.entryVersion.get(x.collection, x.key) ?? null),
    );
    if (conflicts.length > 0) return { committed: false, conflicts };
    const bumped = new Set<string>();
    const setChanges: boolean[] = [];
    let changed = false;
    for (const op of commit.operations) {
      switch (op.op) {
        case 'put':
          st.putEntry.run(op.collection, op.key, JSON.stringify(op.value));
          changed = true;
          break;
        case 'delete':
          st.deleteEntry.run(op.collection, op.key);
          changed = true;
          break;
        case 'append':
          st.appendLine.run(op.log, op.at, JSON.stringify(op.entry));
          st.trimLog.run(op.log, op.log, op.retain);
          break;
        default: {
          if (op.op === 'set-clear') st.clearSet.run(op.set);
          else {
            // changes() counts the rows inserted (a member already there conflicts) or deleted.
            const statement = op.op === 'set-add' ? st.addMember : st.removeMember;
            let rows = 0;
            for (const m of op.members) rows += statement.run(op.set, m).changes;
            setChanges.push(rows > 0);
          }
          if (!bumped.has(op.set)) st.bumpSet.run(op.set);
          bumped.add(op.set);
          changed = true;
        }
      }
    }
    if (changed && commit.quiet !== true) t.bump();
    const version = st.stateVersion.get() ?? 0;
    return commit.reportSetChanges === true
      ? { committed: true, version, setChanges }
      : { committed: true, version };
  }

  readLog(log: DriverLog, query: DriverLogQuery = {}): Promise<unknown[]> {
    return this.reading(query.operation ?? 'readLog', (h) => {
      const lines = h.st.logLines.all(log, query.since ?? Number.NEGATIVE_INFINITY, query.limit ?? -1);
      // Read newest first (see the statement); returned oldest first.
      return lines.reverse().map((line, i) => parseJsonText(line, STORE_NAME, `${log} #${i}`));
    });
  }

  addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    return this.writing('addMetrics', (h) => h.t.write(() => h.metrics.apply(deltas, batch)));
  }

  readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    return this.reading('readMetrics', (h) => h.metrics.read(since, features, options.users !== false));
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.listeners.add(listener);
  }

  private entry(collection: string, row: { key: string; version: number; value: string }): DriverEntry {
    return {
      key: row.key,
      version: row.version,
      value: parseJsonText(row.value, STORE_NAME, `${collection} entry`),
    };
  }

  /**
   * Runs a write on the open connection, turning SQLite's errors into core errors. A write that
   * finds the database locked by another process is tried again without blocking the event loop
   * (see `retryWhileBusyAsync`) until `busyTimeoutMs` after the call; writes called meanwhile
   * wait behind it, so this handle's writes keep their order.
   */
  private writing<T>(operation: string, fn: (handle: OpenDatabase) => T): Promise<T> {
    const handle = this.handle;
    if (handle === undefined) return Promise.reject(notOpen(operation));
    const deadline = Date.now() + this.options.busyTimeoutMs;
    if (this.waiting === 0) {
      try {
        return Promise.resolve(fn(handle));
      } catch (error) {
        if (!isBusy(error)) return Promise.reject(toStoreError(error, operation, handle.where));
      }
    }
    this.waiting += 1;
    const result = (this.writeQueue ?? Promise.resolve())
      // One attempt per turn of the event loop: queued writes retried back to back would each
      // block for a busy slice, adding up to a long stall.
      .then(() => new Promise((resolve) => setImmediate(resolve)))
      .then(() => retryWhileBusyAsync(() => fn(this.current(operation, handle)), deadline - Date.now()));
    const tail = result.then(() => {}).catch(() => {});
    this.writeQueue = tail;
    void tail.then(() => {
      this.waiting -= 1;
      if (this.writeQueue === tail) this.writeQueue = undefined;
    });
    return result.catch((error: unknown) => {
      throw toStoreError(error, operation, handle.where);
    });
  }

  /** Runs a read: in WAL mode readers are rarely busy; when they are, they retry like writes, without waiting in line. */
  private reading<T>(operation: string, fn: (handle: OpenDatabase) => T): Promise<T> {
    const handle = this.handle;
    if (handle === undefined) return Promise.reject(notOpen(operation));
    return retryWhileBusyAsync(() => fn(this.current(operation, handle)), this.options.busyTimeoutMs).catch(
      (error: unknown) => {
        throw toStoreError(error, operation, handle.where);
      },
    );
  }

  /** The connection an operation started on, unless the driver was closed while it waited. */
  private current(operation: string, handle: OpenDatabase): OpenDatabase {
    if (this.handle !== handle) throw notOpen(operation);
    return handle;
  }

  /**
   * After an erasure, copies the WAL back into the database and truncates it. Other
   * connections' readers can hold the checkpoint off; it is tried again, without blocking,
   * until `busyTimeoutMs`, and after that at every poll until it succeeds.
   */
  private async eraseFreedData(): Promise<void> {
    this.erasurePending = true;
    const deadline = Date.now() + this.options.busyTimeoutMs;
    let pauseMs = 2;
    for (;;) {
      const handle = this.handle;
      if (handle === undefined || this.tryErase(handle)) return;
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      pauseMs = Math.min(50, pauseMs * 2);
    }
  }

  private tryErase(handle: OpenDatabase): boolean {
    try {
      if (handle.db.memory) this.erasurePending = false;
      else {
        const [row] = handle.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        if (row?.busy === 0) this.erasurePending = false;
      }
    } catch {
      // Busy or I/O trouble: tried again shortly, then at every poll.
    }
    return !this.erasurePending;
  }

  private poll(): void {
    const handle = this.handle;
    if (handle === undefined) return;
    if (this.erasurePending) this.tryErase(handle);
    let version: number | undefined;
    try {
      version = handle.t.poll();
    } catch {
      // Busy or I/O trouble: the next tick looks again, and a change is still seen then.
      return;
    }
    if (version !== undefined) this.listeners.notify({ version });
  }
}

function notOpen(operation: string): StoreUnavailableError {
  return new StoreUnavailableError(`${PREFIX}: ${operation} called while the store is not open`);
}
