import { createHash } from 'node:crypto';
import {
  InvalidArgumentError,
  type MetricBucket,
  type StoreChange,
  StoreUnavailableError,
} from '@canary-rollout/core';
import type {
  DriverCollection,
  DriverCommit,
  DriverCommitResult,
  DriverEntry,
  DriverExpectation,
  DriverLog,
  DriverLogQuery,
  DriverReadRequest,
  DriverSet,
  DriverSnapshot,
  MetricBatch,
  MetricsReadOptions,
  RolloutDriver,
} from '@canary-rollout/core/store-kit';
import { ChangeFeed, ListenerSet, parseJsonText, settlesWithin } from '@canary-rollout/core/store-kit';
import pg from 'pg';
import { ListenTransport } from './internal/change-feed';
import { listenerConfig, ownPoolConfig, type PgPool, Statements, toStoreError } from './internal/connection';
import { MetricsTable } from './internal/metrics';
import { ident, migrate } from './internal/schema';
import {
  PKG,
  type PostgresStoreOptions,
  type ResolvedOptions,
  redactConnectionString,
  resolveOptions,
} from './options';

/** What an open driver holds. */
interface Connected {
  readonly pool: PgPool;
  readonly owned: boolean;
  readonly statements: Statements;
  readonly metrics: MetricsTable;
  readonly feed: ChangeFeed;
  readonly pruneTimer: NodeJS.Timeout;
  readonly foldTimer: NodeJS.Timeout;
}

/** How often expired metric buckets are deleted (never on the flush path). */
const PRUNE_INTERVAL_MS = 60_000;
/**
 * How often the flushed metric rows are folded into one row per bucket (never on the flush
 * path; a handle also folds a second after its own flushes), so that rows left by a handle
 * that stopped are folded too.
 */
const FOLD_INTERVAL_MS = 10_000;

/**
 * The store's primitives on PostgreSQL: generic tables keyed by namespace (entries of any
 * collection, sets, logs, metric buckets), one statement per commit (a function that checks the
 * expected versions under the namespace's row lock), one statement per metrics flush, and
 * `LISTEN`/`NOTIFY` for changes with a version check after every reconnect.
 */
export class PostgresDriver implements RolloutDriver {
  readonly settings: ResolvedOptions;
  private readonly options: PostgresStoreOptions;
  private readonly s: string;
  /** The notification channel: a hash of schema and namespace, so nothing readable leaks into it. */
  readonly channel: string;
  /** A flush is one JSON parameter: core writes it while checking the deltas. */
  readonly metricsEncoding = 'json';
  private readonly listeners = new ListenerSet();
  private connected: Connected | undefined;
  private opening: Promise<void> | undefined;
  /** Versions this handle committed: their notifications are not news to it. */
  private readonly own = new Set<number>();
  /** Highest version a notification or a check has reported. */
  private heard = 0;
  /** Highest version a check has read: notifications up to it were handled by the check. */
  private checked = 0;
  /** Commits of this handle awaiting their reply: a notification may arrive before it. */
  private committing = 0;
  private deferred: number[] = [];

  constructor(options: PostgresStoreOptions) {
    this.settings = resolveOptions(options);
    this.options = options;
    this.s = ident(this.settings.schema);
    this.channel = `canary_rollout_${createHash('sha256')
      .update(`${this.settings.schema}\u0000${this.settings.namespace}`)
      .digest('hex')
      .slice(0, 32)}`;
  }

  /** Where the store is, for messages: never with a password. */
  describe(): string {
    const target =
      this.options.connectionString === undefined
        ? 'the given pg.Pool'
        : redactConnectionString(this.options.connectionString);
    return `${target} (schema ${this.settings.schema}, namespace ${JSON.stringify(this.settings.namespace)})`;
  }

  /** True while the `LISTEN` connection is up (false when closed). */
  get listening(): boolean {
    return this.connected?.feed.listening ?? false;
  }

  async open(): Promise<void> {
    if (this.connected !== undefined) return;
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => {});
    const connected = this.connected;
    this.connected = undefined;
    this.listeners.clear();
    if (connected === undefined) return;
    clearInterval(connected.pruneTimer);
    clearInterval(connected.foldTimer);
    connected.metrics.stop();
    await connected.feed.stop();
    if (connected.owned) {
      await settlesWithin(connected.pool.end(), this.settings.statementTimeoutMs).catch(() => {});
    }
  }

  async read(request: DriverReadRequest): Promise<DriverSnapshot> {
    const collections = [...(request.collections ?? [])];
    const names = [...(request.sets ?? [])];
    const prefixes = [...(request.setPrefixes ?? [])];
    // Entries by key as (collection, key) pairs; a collection asked for whole comes whole.
    const byKey = Object.entries(request.entries ?? {}).filter(
      ([c]) => !collections.includes(c as DriverCollection),
    );
    const pairs = byKey.flatMap(([c, keys = []]) => keys.map((key) => [c, key] as const));
    for (const c of [...collections, ...byKey.map(([c]) => c)]) checkName('read', 'collection', c);
    const { statements } = this.session('read');
    const setFilter = `namespace = $1 AND (name = ANY($3::text[]) OR EXISTS (SELECT 1 FROM unnest($4::text[]) AS p WHERE starts_with(name, p)))`;
    // One statement, so one snapshot: everything in it was current at one moment.
    const result = await statements.query<{
      kind: number;
      a: string | null;
      b: string | null;
      value: string | null;
      version: string | null;
    }>(
      'read',
      `SELECT 0 AS kind, NULL::text AS a, NULL::text AS b, NULL::text AS value, version::bigint AS version, 0::bigint AS ord
         FROM ${this.s}.namespaces WHERE namespace = $1
       UNION ALL
       SELECT 1, collection, key, value, version::bigint, created FROM ${this.s}.entries
         WHERE namespace = $1 AND (collection = ANY($2::text[])
           OR (collection, key) IN (SELECT * FROM unnest($5::text[], $6::text[])))
       UNION ALL
       SELECT 2, name, NULL, NULL, version, 0 FROM ${this.s}.sets WHERE ${setFilter}
       UNION ALL
       SELECT 3, name, member, NULL, NULL, 0 FROM ${this.s}.set_members WHERE ${setFilter}
       ORDER BY kind, ord, a, b`,
      [this.settings.namespace, collections, names, prefixes, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
    let version = 0;
    const byCollection: Partial<Record<DriverCollection, DriverEntry[]>> = {};
    for (const c of collections) byCollection[c] = [];
    for (const [c] of byKey) byCollection[c as DriverCollection] = [];
    const sets: Record<string, { members: string[]; version: number }> = {};
    for (const name of names) sets[name] = { members: [], version: 0 };
    for (const row of result.rows) {
      if (row.kind === 0) version = Number(row.version);
      else if (row.kind === 1) {
        const collection = row.a as DriverCollection;
        byCollection[collection]?.push({
          key: row.b ?? '',
          value: this.decode(row.value ?? '', collection, row.b ?? ''),
          version: Number(row.version),
        });
      } else if (row.kind === 2) {
        const name = row.a ?? '';
        sets[name] = { members: sets[name]?.members ?? [], version: Number(row.version) };
      } else {
        const name = row.a ?? '';
        const set = sets[name] ?? { members: [], version: 0 };
        sets[name] = set;
        set.members.push(row.b ?? '');
      }
    }
    return { version, collections: byCollection, sets: sets as Record<string, DriverSet> };
  }

  async get(
    collection: DriverCollection,
    keys: readonly string[],
  ): Promise<readonly (DriverEntry | undefined)[]> {
    checkName('get', 'collection', collection);
    if (keys.length === 0) return [];
    const { statements } = this.session('get');
    const result = await statements.query<{ key: string; value: string; version: number }>(
      'get',
      `SELECT key, value, version FROM ${this.s}.entries WHERE namespace = $1 AND collection = $2 AND key = ANY($3::text[])`,
      [this.settings.namespace, collection, [...keys]],
    );
    const found = new Map(result.rows.map((r) => [r.key, r]));
    return keys.map((key) => {
      const row = found.get(key);
      return row === undefined
        ? undefined
        : { key, value: this.decode(row.value, collection, key), version: row.version };
    });
  }

  async commit(commit: DriverCommit): Promise<DriverCommitResult> {
    const expect = commit.expect ?? [];
    const values: string[] = [];
    const encodeValue = (value: unknown, where: string): number => {
      const text = JSON.stringify(value);
      if (typeof text !== 'string') {
        throw new InvalidArgumentError(`${PKG}: commit: ${where} is not a JSON value`);
      }
      values.push(text);
      return values.length;
    };
    const expectations = expect.map((e) => {
      if ('set' in e) {
        checkName('commit', 'set', e.set);
        return { s: e.set, v: e.version };
      }
      checkName('commit', 'collection', e.collection);
      return { c: e.collection, k: e.key, v: e.version };
    });
    const ops = commit.operations.map((o) => {
      switch (o.op) {
        case 'put':
          checkName('commit', 'collection', o.collection);
          return {
            op: o.op,
            c: o.collection,
            k: o.key,
            v: encodeValue(o.value, `the value put in ${o.collection}`),
          };
        case 'delete':
          checkName('commit', 'collection', o.collection);
          return { op: o.op, c: o.collection, k: o.key };
        case 'set-add':
        case 'set-remove':
          checkName('commit', 'set', o.set);
          return { op: o.op, s: o.set, m: [...o.members] };
        case 'set-clear':
          checkName('commit', 'set', o.set);
          return { op: o.op, s: o.set };
        case 'append':
          checkName('commit', 'log', o.log);
          if (!Number.isSafeInteger(o.retain) || o.retain < 0) {
            throw new InvalidArgumentError(
              `${PKG}: commit: "retain" must be a non-negative integer, got ${String(o.retain)}`,
            );
          }
          if (!Number.isFinite(o.at)) {
            throw new InvalidArgumentError(
              `${PKG}: commit: "at" must be a finite number, got ${String(o.at)}`,
            );
          }
          return {
            op: o.op,
            l: o.log,
            at: o.at,
            r: o.retain,
            v: encodeValue(o.entry, `the entry appended to ${o.log}`),
          };
        default:
          throw new InvalidArgumentError(
            `${PKG}: commit: unknown operation ${JSON.stringify((o as { op?: unknown }).op)}`,
          );
      }
    });
    const { statements } = this.session('commit');
    this.committing++;
    let reply:
      | {
          version?: number;
          changed?: boolean;
          conflicts?: [number, number | null][];
          set_changes?: boolean[];
        }
      | undefined;
    try {
      const result = await statements.query<{ r: typeof reply }>(
        'commit',
        `SELECT ${this.s}.commit_changes($1, $2, $3::jsonb, $4::jsonb, $5::text[]) AS r`,
        [
          this.settings.namespace,
          commit.quiet === true ? null : this.channel,
          JSON.stringify(expectations),
          JSON.stringify(ops),
          values,
        ],
      );
      reply = result.rows[0]?.r;
      if (reply?.changed === true) this.noteOwn(Number(reply.version));
    } finally {
      this.committing--;
      if (this.committing === 0 && this.deferred.length > 0) {
        for (const version of this.deferred.splice(0)) this.notified(version);
      }
    }
    if (reply?.conflicts !== undefined) {
      return {
        committed: false,
        conflicts: reply.conflicts.map(([index, found]) => ({
          ...(expect[index] as DriverExpectation),
          found: found === null ? null : Number(found),
        })),
      };
    }
    const version = Number(reply?.version);
    // Opening brought the function to a revision that reports; should a reply lack it all the
    // same, the result says nothing and core reads the set instead.
    const setChanges = reply?.set_changes;
    return commit.reportSetChanges === true && Array.isArray(setChanges)
      ? { committed: true, version, setChanges: setChanges.map((c) => c === true) }
      : { committed: true, version };
  }

  async readLog(log: DriverLog, query: DriverLogQuery = {}): Promise<readonly unknown[]> {
    checkName('readLog', 'log', log);
    const { since, limit } = query;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new InvalidArgumentError(
        `${PKG}: readLog: "limit" must be a non-negative integer, got ${String(limit)}`,
      );
    }
    if (limit === 0) return [];
    const { statements } = this.session('readLog');
    const values: unknown[] = [this.settings.namespace, log];
    let where = 'namespace = $1 AND log = $2';
    if (since !== undefined && !Number.isNaN(since)) {
      values.push(since);
      where += ` AND at >= $${values.length}::double precision`;
    }
    let limitSql = '';
    if (limit !== undefined) {
      values.push(limit);
      limitSql = ` LIMIT $${values.length}`;
    }
    // Newest first with the limit (an index scan backwards), then oldest first for the caller.
    const result = await statements.query<{ seq: string; entry: string }>(
      'readLog',
      `SELECT seq, entry FROM (SELECT seq, entry FROM ${this.s}.logs WHERE ${where} ORDER BY seq DESC${limitSql}) AS newest ORDER BY seq`,
      values,
    );
    return result.rows.map((r) => this.decode(r.entry, `log ${log}`, `#${r.seq}`));
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch, json?: string): Promise<void> {
    const { metrics } = this.session('addMetrics');
    await metrics.add(deltas, batch, json);
  }

  async readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    const { metrics } = this.session('readMetrics');
    return metrics.read(since, features, options.users !== false);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.listeners.add(listener);
  }

  /** The store version, read through the pool. */
  async readVersion(): Promise<number> {
    const { statements } = this.session('readVersion');
    const result = await statements.query<{ version: string }>(
      'readVersion',
      `SELECT version FROM ${this.s}.namespaces WHERE namespace = $1`,
      [this.settings.namespace],
    );
    return Number(result.rows[0]?.version ?? 0);
  }

  /**
   * Folds the flushed metric rows into one row per bucket (as the store does a second after a
   * flush and every 10 s on its own); reads give the same buckets before and after.
   */
  async foldMetrics(): Promise<void> {
    await this.session('foldMetrics').metrics.fold();
  }

  /** Folds, then drops metric buckets and batch numbers older than `metricsRetentionMs`. */
  async pruneExpired(): Promise<void> {
    await this.session('pruneExpired').metrics.pruneExpired();
  }

  private async connect(): Promise<void> {
    const { connectionString } = this.options;
    const owned = this.options.pool === undefined;
    const pool: PgPool =
      // A pg.Pool by the type users see; the store works on pg's own type.
      (this.options.pool as PgPool | undefined) ??
      new pg.Pool(ownPoolConfig(connectionString ?? '', this.settings));
    // An idle connection of our own pool that dies must not crash the app (pg emits 'error').
    if (owned) pool.on('error', () => {});
    const statements = new Statements(
      pool,
      Math.max(this.settings.statementTimeoutMs, this.settings.connectTimeoutMs),
    );
    const feed = new ChangeFeed({
      transport: new ListenTransport(
        connectionString === undefined
          ? listenerConfig(pool, this.settings)
          : { connectionString, keepAlive: true, connectionTimeoutMillis: this.settings.connectTimeoutMs },
        this.channel,
        this.settings.connectTimeoutMs,
        this.settings.statementTimeoutMs,
      ),
      readVersion: () => this.readVersion(),
      onNotified: (version) => this.notified(version),
      onChecked: (version) => this.checkedVersion(version),
      pollIntervalMs: this.settings.pollIntervalMs,
      timeoutMs: this.settings.statementTimeoutMs,
    });
    const limit = this.settings.connectTimeoutMs;
    try {
      const opened = (async () => {
        await statements.withClient('open', (client) =>
          migrate(client, this.settings.schema, this.settings.namespace, this.settings.connectTimeoutMs),
        );
        await feed.start();
      })();
      opened.catch(() => {});
      if (!(await settlesWithin(opened, limit))) {
        throw new StoreUnavailableError(`no answer from PostgreSQL within ${limit} ms (connectTimeoutMs)`);
      }
    } catch (error) {
      await feed.stop();
      if (owned) await settlesWithin(pool.end(), 1000).catch(() => {});
      // The schema's own refusals (newer, foreign) are already complete messages.
      if (error instanceof StoreUnavailableError && !error.message.startsWith(`${PKG}: open failed: `)) {
        if (error.message.startsWith(PKG)) throw error;
      }
      const detail = toStoreError(error, 'open').message.replace(`${PKG}: open failed: `, '');
      throw new StoreUnavailableError(`${PKG}: could not open the store on ${this.describe()}: ${detail}`, {
        cause: error,
      });
    }
    const metrics = new MetricsTable(
      new Statements(pool, this.settings.statementTimeoutMs),
      this.s,
      this.settings.namespace,
      this.settings.metricsRetentionMs,
      this.settings.onWarning,
    );
    const pruneTimer = setInterval(() => metrics.inBackground('prune'), PRUNE_INTERVAL_MS);
    pruneTimer.unref?.();
    const foldTimer = setInterval(() => metrics.inBackground('fold'), FOLD_INTERVAL_MS);
    foldTimer.unref?.();
    this.connected = {
      pool,
      owned,
      statements: new Statements(pool, this.settings.statementTimeoutMs),
      metrics,
      feed,
      pruneTimer,
      foldTimer,
    };
    // Listening already: a change committed from here on arrives as a notification.
    const version = await this.readVersion().catch(() => 0);
    this.heard = Math.max(this.heard, version);
    this.checked = Math.max(this.checked, version);
  }

  private session(op: string): Connected {
    const connected = this.connected;
    if (connected === undefined) {
      throw new StoreUnavailableError(`${PKG}: ${op} failed: the store is not open (call open() first)`);
    }
    return connected;
  }

  private decode(text: string, collection: string, key: string): unknown {
    return parseJsonText(
      text,
      PKG,
      `${collection} entry ${JSON.stringify(key)} in schema ${this.settings.schema} (namespace ${JSON.stringify(this.settings.namespace)})`,
    );
  }

  private noteOwn(version: number): void {
    this.own.add(version);
    // Only versions above what was heard can still arrive as news; older ones are forgotten.
    if (this.own.size > 1000) {
      for (const v of this.own) if (v <= this.heard) this.own.delete(v);
    }
  }

  private notified(version: number): void {
    if (this.committing > 0) {
      this.deferred.push(version);
      return;
    }
    if (this.own.has(version) || version <= this.checked) return;
    this.heard = Math.max(this.heard, version);
    this.listeners.notify({ version });
  }

  private checkedVersion(version: number): void {
    const from = Math.max(this.heard, this.checked);
    this.checked = Math.max(this.checked, version);
    if (version <= from) return;
    let foreign = version - from > 10_000;
    for (let v = from + 1; !foreign && v <= version; v++) if (!this.own.has(v)) foreign = true;
    this.heard = version;
    if (foreign) this.listeners.notify({ version });
  }
}

function checkName(op: string, what: string, name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError(
      `${PKG}: ${op}: a ${what} name must be a non-empty string of at most 200 characters, got ${JSON.stringify(name)}`,
    );
  }
}
