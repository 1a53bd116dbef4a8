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
  ListenerSet,
  type MetricBatch,
  type MetricBucket,
  type MetricsReadOptions,
  parseJsonText,
  type RolloutDriver,
  type StoreChange,
  StoreUnavailableError,
} from '@canary-rollout/core/store-kit';
import type { ResolvedOptions } from '../options';
import { retryWhileBusyAsync } from './busy';
import { type Connection, openConnection } from './connection';
import { PREFIX, STORE_NAME } from './constants';
import { isBusy, toStoreError } from './errors';
import type { EntryRow } from './statements';

/**
 * The driver of `SqliteStore`: collections, sets and logs in three tables of one SQLite file,
 * each commit one BEGIN IMMEDIATE transaction, changes by other processes noticed by polling
 * `PRAGMA data_version`.
 */
export class SqliteDriver implements RolloutDriver {
  private handle: Connection | undefined;
  private opening: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new ListenerSet();
  /** The last write waiting for the lock, if any; later writes queue behind it. */
  private writeQueue: Promise<void> | undefined;
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
    this.handle = await openConnection(this.options);
    // Polling must not keep a process alive that has nothing else to do.
    this.timer = setInterval(() => this.poll(), this.options.pollIntervalMs).unref();
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => {});
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    const handle = this.handle;
    this.handle = undefined;
    if (handle?.owned && handle.t.db.open) handle.t.db.close();
  }

  read(request: DriverReadRequest) {
    return this.reading(request.operation ?? 'read', (h) =>
      h.t.read(() => {
        const collections: Partial<Record<DriverCollection, DriverEntry[]>> = {};
        for (const [name, keys = []] of Object.entries(request.entries ?? {})) {
          collections[name as DriverCollection] = this.entriesOf(h, name, keys).filter(
            (e) => e !== undefined,
          );
        }
        for (const name of request.collections ?? []) {
          collections[name] = h.st.entries.all(name).map((row) => entry(name, row));
        }
        const sets: Record<string, DriverSet> = Object.create(null);
        for (const name of request.sets ?? []) {
          sets[name] = { members: h.st.setMembers.all(name), version: h.st.setVersion.get(name) ?? 0 };
        }
        for (const prefix of request.setPrefixes ?? []) {
          const found = new Map<string, string[]>();
          for (const [name, version] of h.st.setsWithPrefix.all(prefix.length, prefix)) {
            const members: string[] = [];
            found.set(name, members);
            sets[name] = { members, version };
          }
          for (const [name, member] of h.st.membersWithPrefix.all(prefix.length, prefix)) {
            found.get(name)?.push(member);
          }
        }
        return { version: h.st.stateVersion.get() ?? 0, collections, sets };
      }),
    );
  }

  get(collection: DriverCollection, keys: readonly string[], operation = 'get') {
    return this.reading(operation, (h) => h.t.read(() => this.entriesOf(h, collection, keys)));
  }

  private entriesOf(h: Connection, collection: string, keys: readonly string[]) {
    return keys.map((key) => h.st.entry.get(collection, key)).map((row) => row && entry(collection, row));
  }

  async commit(commit: DriverCommit) {
    const result = await this.writing(commit.operation ?? 'commit', (h) =>
      h.t.write(() => this.commitIn(h, commit)),
    );
    // Deleted rows are zeroed in the database (`secure_delete`); the WAL still holds their pages.
    if (result.committed && commit.operations.some((op) => op.op === 'delete' && op.collection === 'users')) {
      await this.eraseFreedData();
    }
    return result;
  }

  private commitIn({ st, t }: Connection, commit: DriverCommit): DriverCommitResult {
    const conflicts = commitConflicts(commit, (x) =>
      'set' in x ? (st.setVersion.get(x.set) ?? 0) : (st.entryVersion.get(x.collection, x.key) ?? null),
    );
    if (conflicts.length > 0) return { committed: false, conflicts };
    const bumped = new Set<string>();
    const setChanges: boolean[] = [];
    let changed = false;
    for (const op of commit.operations) {
      changed ||= op.op !== 'append';
      if (op.op === 'put') st.putEntry.run(op.collection, op.key, JSON.stringify(op.value));
      else if (op.op === 'delete') st.deleteEntry.run(op.collection, op.key);
      else if (op.op === 'append') {
        st.appendLine.run(op.log, op.at, JSON.stringify(op.entry));
        st.trimLog.run(op.log, op.log, op.retain);
      } else {
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
      }
    }
    if (changed && commit.quiet !== true) t.bump();
    const version = st.stateVersion.get() ?? 0;
    return { committed: true, version, ...(commit.reportSetChanges === true ? { setChanges } : {}) };
  }

  readLog(log: DriverLog, query: DriverLogQuery = {}) {
    return this.reading(query.operation ?? 'readLog', (h) => {
      const lines = h.st.logLines.all(log, query.since ?? Number.NEGATIVE_INFINITY, query.limit ?? -1);
      // Read newest first (see the statement); returned oldest first.
      return lines.reverse().map((line, i) => parseJsonText(line, STORE_NAME, `${log} #${i}`));
    });
  }

  addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch) {
    return this.writing('addMetrics', (h) => h.t.write(() => h.metrics.apply(deltas, batch)));
  }

  readMetrics(since: number, features?: readonly string[], options: MetricsReadOptions = {}) {
    return this.reading('readMetrics', (h) => h.metrics.read(since, features, options.users !== false));
  }

  subscribe(listener: (change: StoreChange) => void) {
    return this.listeners.add(listener);
  }

  /**
   * Runs a write on the open connection, turning SQLite's errors into core errors. A write that
   * finds the database locked by another process is tried again without blocking the event loop
   * (see `retryWhileBusyAsync`) until `busyTimeoutMs` after the call; writes called meanwhile
   * wait behind it, so this handle's writes keep their order.
   */
  private writing<T>(operation: string, fn: (handle: Connection) => T): Promise<T> {
    return this.run(operation, (handle) => {
      const deadline = Date.now() + this.options.busyTimeoutMs;
      if (this.writeQueue === undefined) {
        try {
          return fn(handle);
        } catch (error) {
          if (!isBusy(error)) throw error;
        }
      }
      const result = (this.writeQueue ?? Promise.resolve())
        // One attempt per turn of the event loop: queued writes retried back to back would each
        // block for a busy slice, adding up to a long stall.
        .then(() => new Promise((resolve) => setImmediate(resolve)))
        .then(() => retryWhileBusyAsync(() => fn(this.current(operation, handle)), deadline - Date.now()));
      const tail = result.then(() => {}).catch(() => {});
      this.writeQueue = tail;
      void tail.then(() => {
        if (this.writeQueue === tail) this.writeQueue = undefined;
      });
      return result;
    });
  }

  /** Runs a read: in WAL mode readers are rarely busy; when they are, they retry like writes, without waiting in line. */
  private reading<T>(operation: string, fn: (handle: Connection) => T): Promise<T> {
    return this.run(operation, (handle) =>
      retryWhileBusyAsync(() => fn(this.current(operation, handle)), this.options.busyTimeoutMs),
    );
  }

  /** Runs `fn` on the open connection, turning SQLite's errors into core errors. */
  private async run<T>(operation: string, fn: (handle: Connection) => T | Promise<T>): Promise<T> {
    const handle = this.current(operation, this.handle);
    try {
      return await fn(handle);
    } catch (error) {
      throw toStoreError(error, operation, handle.where);
    }
  }

  /** The connection an operation started on, unless the driver was closed while it waited. */
  private current(operation: string, handle: Connection | undefined): Connection {
    if (handle === undefined || this.handle !== handle) {
      throw new StoreUnavailableError(`${PREFIX}: ${operation} called while the store is not open`);
    }
    return handle;
  }

  /**
   * After an erasure, copies the WAL back into the database and truncates it. Other
   * connections' readers can hold the checkpoint off; it is tried again, without blocking,
   * until `busyTimeoutMs`, and after that at every poll until it succeeds.
   */
  private async eraseFreedData(): Promise<void> {
    this.erasurePending = true;
    const heldOff = new Error('checkpoint held off');
    const attempt = () => {
      if (this.handle !== undefined && !this.tryErase(this.handle)) throw heldOff;
    };
    await retryWhileBusyAsync(attempt, this.options.busyTimeoutMs, (e) => e === heldOff).catch(() => {});
  }

  private tryErase({ t: { db } }: Connection): boolean {
    try {
      if (db.memory || (db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]?.busy === 0) {
        this.erasurePending = false;
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
    try {
      const version = handle.t.poll();
      if (version !== undefined) this.listeners.notify({ version });
    } catch {
      // Busy or I/O trouble: the next tick looks again, and a change is still seen then.
    }
  }
}

function entry(collection: string, { key, version, value }: EntryRow): DriverEntry {
  return { key, version, value: parseJsonText(value, STORE_NAME, `${collection} entry`) };
}
