import { randomUUID } from 'node:crypto';
import {
  assertUserIdArgument,
  type BetaUser,
  type FeatureRecord,
  type FeatureWrite,
  type Feedback,
  feedbackSchema,
  InvalidArgumentError,
  type LogEntry,
  type LogKind,
  type LogQuery,
  logEntrySchema,
  type MetricBatch,
  type MetricBucket,
  type MetricsReadOptions,
  metricBatchSchema,
  metricBucketSchema,
  NotFoundError,
  notifyListeners,
  type RollbackRecord,
  type RollbackRequest,
  type RollbackResult,
  type RolloutState,
  type RolloutStore,
  rollbackRecordSchema,
  type StoreChange,
  StoreDataCorruptedError,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { ChangeFeed, waitReady } from './internal/change-feed';
import { decodeStored, decodeVersion, validateArgument } from './internal/codec';
import { CommandGate, PKG, type RedisClient, toStoreError, withDeadline } from './internal/commands';
import { createOwnClient, createSubscriber, describeTarget } from './internal/connect';
import { FeaturesOps } from './internal/features-ops';
import { KeyLayout } from './internal/keys';
import { MetricsOps } from './internal/metrics-ops';
import { UsersOps } from './internal/users-ops';
import { type RedisStoreOptions, type ResolvedOptions, resolveOptions } from './options';

const LOG_KINDS: ReadonlySet<string> = new Set<LogKind>(['alerts', 'health-reports', 'audit']);

/** What an open store holds. */
interface Session {
  readonly client: RedisClient;
  readonly owned: boolean;
  readonly gate: CommandGate;
  readonly feed: ChangeFeed;
}

/**
 * A `RolloutStore` on Redis through ioredis, shared by every instance of an app. Writes are Lua
 * scripts (atomic, one round trip); changes reach other handles through pub/sub with a version
 * check after reconnects; every call settles within `commandTimeoutMs` and fails fast with
 * `StoreUnavailableError` while Redis is away.
 */
export class RedisStore implements RolloutStore {
  private readonly keys: KeyLayout;
  private readonly settings: ResolvedOptions;
  private readonly options: RedisStoreOptions;
  /** Marks this handle's own change messages. */
  private readonly origin = randomUUID();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private session: Session | undefined;
  private opening: Promise<void> | undefined;
  private readonly features: FeaturesOps;
  private readonly users: UsersOps;
  private readonly metrics: MetricsOps;

  constructor(options: RedisStoreOptions = {}) {
    this.settings = resolveOptions(options);
    this.options = options;
    this.keys = new KeyLayout(this.settings.namespace);
    this.features = new FeaturesOps(this.keys, this.origin);
    this.users = new UsersOps(this.keys, this.origin);
    this.metrics = new MetricsOps(this.keys, this.settings, this.origin);
  }

  /** Commands of this handle waiting for a reply (0 when closed). */
  get pendingCommands(): number {
    return this.session?.gate.pending ?? 0;
  }

  async open(): Promise<void> {
    if (this.session !== undefined) return;
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => {});
    const session = this.session;
    this.session = undefined;
    this.listeners.clear();
    if (session === undefined) return;
    // Flushes whose outcome was unknown get one more chance (they are skipped if applied).
    await this.metrics.add(session.gate, [], this.settings.commandTimeoutMs).catch(() => {});
    await session.feed.stop();
    if (session.owned) {
      const client = session.client;
      await withDeadline(client.quit(), this.settings.commandTimeoutMs, 'close').catch(() =>
        client.disconnect(),
      );
    }
  }

  async readState(): Promise<RolloutState> {
    return this.run('readState', (gate) => this.features.readState(gate));
  }

  async putFeature(feature: FeatureWrite, expectedVersion: number | null): Promise<FeatureRecord> {
    return this.run('putFeature', (gate) => this.features.put(gate, feature, expectedVersion));
  }

  async deleteFeature(name: string): Promise<boolean> {
    return this.run('deleteFeature', (gate) => this.features.delete(gate, name));
  }

  async registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    return this.run('registerUser', (gate) => this.users.register(gate, user));
  }

  async getUser(id: string): Promise<BetaUser | undefined> {
    return this.run('getUser', (gate) => this.users.get(gate, id));
  }

  async getUserByEmail(email: string): Promise<BetaUser | undefined> {
    return this.run('getUserByEmail', (gate) => this.users.getByEmail(gate, email));
  }

  async listUsers(): Promise<BetaUser[]> {
    return this.run('listUsers', (gate) => this.users.list(gate));
  }

  async removeUser(id: string): Promise<boolean> {
    return this.run('removeUser', (gate) => this.users.remove(gate, id));
  }

  async addBetaMember(feature: string, userId: string): Promise<boolean> {
    const result = await this.setMember('addBetaMember', this.keys.beta(feature), 'add', userId, feature);
    if (result === -1) throw new NotFoundError(`${PKG}: unknown feature "${feature}"`);
    return result > 0;
  }

  async removeBetaMember(feature: string, userId: string): Promise<boolean> {
    return (await this.setMember('removeBetaMember', this.keys.beta(feature), 'remove', userId, '')) > 0;
  }

  async addToBlacklist(userId: string): Promise<boolean> {
    return (await this.setMember('addToBlacklist', this.keys.blacklist, 'add', userId, '')) > 0;
  }

  async removeFromBlacklist(userId: string): Promise<boolean> {
    return (await this.setMember('removeFromBlacklist', this.keys.blacklist, 'remove', userId, '')) > 0;
  }

  async appendFeedback(entry: Feedback): Promise<void> {
    const valid = validateArgument(feedbackSchema, entry, 'appendFeedback argument');
    await this.run('appendFeedback', (gate) =>
      gate.send('appendFeedback', (c) => c.rpush(this.keys.feedback, JSON.stringify(valid))),
    );
  }

  async listFeedback(feature?: string): Promise<Feedback[]> {
    const all = await this.readList('listFeedback', this.keys.feedback, feedbackSchema, 'feedback');
    return feature === undefined ? all : all.filter((f) => f.feature === feature);
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    const valid = deltas.map((d) => validateArgument(metricBucketSchema, d, 'addMetrics argument'));
    const id =
      batch === undefined ? undefined : validateArgument(metricBatchSchema, batch, 'addMetrics batch');
    if (valid.length === 0) return;
    // Bounded by MetricsOps itself: a deadline here could reject a flush that MetricsOps holds
    // for delivery, and the caller would send it a second time.
    await this.run(
      'addMetrics',
      (gate) => this.metrics.add(gate, valid, this.settings.commandTimeoutMs, id),
      false,
    );
  }

  async readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    return this.run('readMetrics', (gate) =>
      this.metrics.read(gate, since, features, options.users !== false),
    );
  }

  async appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    const key = this.logKey(kind);
    const valid = validateArgument(logEntrySchema, entry, 'appendLog argument');
    await this.run('appendLog', async (gate) => {
      const results = await gate.send('appendLog', (c) =>
        c.multi().rpush(key, JSON.stringify(valid)).ltrim(key, -this.settings.maxLogEntries, -1).exec(),
      );
      for (const [error] of results ?? []) if (error) throw error;
    });
  }

  async listLogs(kind: LogKind, query: LogQuery = {}): Promise<LogEntry[]> {
    let entries = await this.readList('listLogs', this.logKey(kind), logEntrySchema, kind);
    if (query.since !== undefined) {
      const since = query.since;
      entries = entries.filter((e) => e.at >= since);
    }
    if (query.limit !== undefined) entries = entries.slice(Math.max(0, entries.length - query.limit));
    return entries;
  }

  async rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    return this.run('rollback', (gate) => this.features.rollback(gate, feature, request));
  }

  async listRollbacks(feature?: string): Promise<RollbackRecord[]> {
    const all = await this.readList('listRollbacks', this.keys.rollbacks, rollbackRecordSchema, 'rollback');
    return feature === undefined ? all : all.filter((r) => r.feature === feature);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private async connect(): Promise<void> {
    const { client: given, url, redis } = this.options;
    const owned = given === undefined;
    const client: RedisClient = given ?? createOwnClient(url, redis, this.settings);
    let lastError = '';
    const onError = (error: Error) => {
      lastError = error.message;
    };
    // On the app's client the listener only lives until open() is done.
    client.on('error', onError);
    const subscriber = createSubscriber(client, this.settings);
    const gate = new CommandGate(client, this.settings.maxPendingCommands);
    const feed = new ChangeFeed({
      subscriber,
      channel: this.keys.changes,
      origin: this.origin,
      readVersion: () => this.readVersion(gate),
      emit: (change) => this.emit(change),
      pollIntervalMs: this.settings.pollIntervalMs,
      timeoutMs: this.settings.commandTimeoutMs,
      onPollFailure: (error) => {
        // A connection that stopped answering without closing (a half-open TCP connection) would
        // time out every call until the OS gives up on it; a new connection recovers sooner.
        if (owned && client.status === 'ready' && isTimeout(error)) client.disconnect(true);
      },
    });
    const limit = this.settings.connectTimeoutMs;
    const started = Date.now();
    try {
      if (client.status === 'wait') client.connect().catch(() => {});
      await withDeadline(waitReady(client), limit, 'open');
      await feed.start(Math.max(1, limit - (Date.now() - started)));
      // Read after subscribing: a change made from here on arrives as a message.
      feed.startFrom(await withDeadline(this.readVersion(gate), this.settings.commandTimeoutMs, 'open'));
    } catch (error) {
      await feed.stop();
      if (owned) client.disconnect();
      if (error instanceof StoreDataCorruptedError) throw error;
      const detail = lastError === '' ? (error instanceof Error ? error.message : String(error)) : lastError;
      throw new StoreUnavailableError(
        `${PKG}: could not open the store on ${describeTarget(client)} within ${limit} ms (connectTimeoutMs): ${detail}`,
        { cause: error },
      );
    } finally {
      if (!owned) client.off('error', onError);
    }
    this.session = { client, owned, gate, feed };
    await this.checkEviction(gate);
  }

  /**
   * Warns when Redis may evict this store's keys: under `allkeys-*` any key (features, beta
   * lists, the blacklist), under `volatile-*` the metric buckets (they carry a TTL) before their
   * retention. A server that refuses INFO (some managed services) is not warned about.
   */
  private async checkEviction(gate: CommandGate): Promise<void> {
    let info: string;
    try {
      info = String(
        await withDeadline(
          gate.send('checkEviction', (c) => c.info('memory')),
          this.settings.commandTimeoutMs,
          'open',
        ),
      );
    } catch {
      return;
    }
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    const maxmemory = /^maxmemory:(\d+)/m.exec(info)?.[1] ?? 'unknown';
    if (policy === undefined || policy === 'noeviction') return;
    const what = policy.startsWith('allkeys-')
      ? 'any key of the store: features, beta lists and the blacklist can vanish, which turns features off until the rollout service restores them from its last snapshot'
      : policy.startsWith('volatile-')
        ? 'the metric buckets (they have a TTL) before metricsRetentionMs: the monitor would judge on missing calls'
        : 'keys of the store';
    this.settings.onWarning(
      `${PKG}: Redis maxmemory-policy is ${policy} (maxmemory ${maxmemory} bytes), so Redis may evict ${what}. Use maxmemory-policy noeviction for the rollout state.`,
    );
  }

  private async readVersion(gate: CommandGate): Promise<number> {
    return decodeVersion(await gate.send('readVersion', (c) => c.get(this.keys.version)), this.keys.version);
  }

  /** Runs one store call: fails fast when not open, settles within the command timeout. */
  private run<T>(op: string, body: (gate: CommandGate) => Promise<T>, deadline = true): Promise<T> {
    const session = this.session;
    if (session === undefined) {
      return Promise.reject(
        new StoreUnavailableError(`${PKG}: ${op} failed: the store is not open (call open() first)`),
      );
    }
    const call = (async () => body(session.gate))();
    return (deadline ? withDeadline(call, this.settings.commandTimeoutMs, op) : call).catch(
      (error: unknown) => {
        throw toStoreError(error, op);
      },
    );
  }

  private setMember(
    op: string,
    key: string,
    action: 'add' | 'remove',
    userId: string,
    feature: string,
  ): Promise<number> {
    assertUserIdArgument(userId, 'storage-redis', op);
    return this.run(op, (gate) => this.features.setMember(gate, op, key, action, userId, feature));
  }

  private async readList<S extends Parameters<typeof decodeStored>[0]>(
    op: string,
    key: string,
    schema: S,
    what: string,
  ): Promise<ReturnType<S['parse']>[]> {
    const texts = await this.run(op, (gate) => gate.send(op, (c) => c.lrange(key, 0, -1)));
    return texts.map(
      (text, i) => decodeStored(schema, text, `${what} #${i} in ${key}`) as ReturnType<S['parse']>,
    );
  }

  private logKey(kind: LogKind): string {
    if (!LOG_KINDS.has(kind)) throw new InvalidArgumentError(`${PKG}: unknown log kind "${String(kind)}"`);
    return this.keys.log(kind);
  }

  private emit(change: StoreChange): void {
    notifyListeners(this.listeners, change);
  }
}

/** True for ioredis's command timeout and the store's own deadline. */
function isTimeout(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return message.includes('timed out') || message.includes('no answer from Redis');
}
