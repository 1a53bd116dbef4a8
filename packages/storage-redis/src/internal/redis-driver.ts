import { randomUUID } from 'node:crypto';
import {
  ChangeFeed,
  type DriverCollection,
  type DriverCommit,
  type DriverCommitResult,
  type DriverEntry,
  type DriverExpectation,
  type DriverLog,
  type DriverLogQuery,
  type DriverReadRequest,
  type DriverSet,
  type DriverSnapshot,
  InvalidArgumentError,
  isWellFormedText,
  ListenerSet,
  type MetricBatch,
  type MetricBucket,
  type MetricsReadOptions,
  type RolloutDriver,
  type StoreChange,
  StoreDataCorruptedError,
  StoreUnavailableError,
} from '@canary-rollout/core/store-kit';
import type { RedisStoreOptions, ResolvedOptions } from '../options';
import { PubSubTransport, waitReady } from './change-feed';
import { decodeTagged, decodeVersion, encodeValue } from './codec';
import { CommandGate, PKG, type RedisClient, refused, toStoreError, withDeadline } from './commands';
import { createOwnClient, createSubscriber, describeTarget } from './connect';
import { encodeKeyPart, KeyLayout } from './keys';
import { MetricsOps } from './metrics-ops';
import { COMMIT, type LuaScript, READ, READ_LOG } from './scripts';

interface Connections {
  readonly client: RedisClient;
  /** The driver made the client, so it closes it too. */
  readonly owned: boolean;
  readonly gate: CommandGate;
  readonly feed: ChangeFeed;
}

/** The Redis primitives under `RedisStore` (its TSDoc says what they guarantee). */
export class RedisDriver implements RolloutDriver {
  private readonly keys: KeyLayout;
  /** Marks this handle's own change messages. */
  private readonly origin = randomUUID();
  private readonly listeners = new ListenerSet();
  private readonly metrics: MetricsOps;
  private connections: Connections | undefined;
  /** The last version this handle heard of (by message or by reading it). */
  private known = -1;
  private opening: Promise<void> | undefined;

  constructor(
    private readonly settings: ResolvedOptions,
    private readonly options: RedisStoreOptions,
  ) {
    this.keys = new KeyLayout(settings.namespace);
    this.metrics = new MetricsOps(this.keys, settings, this.origin);
  }

  /** Commands of this handle waiting for a reply (0 when closed). */
  get pendingCommands(): number {
    return this.connections?.gate.pending ?? 0;
  }

  async open(): Promise<void> {
    if (this.connections !== undefined && this.opening === undefined) return;
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => {});
    const connections = this.connections;
    this.connections = undefined;
    this.listeners.clear();
    if (connections === undefined) return;
    const { client, gate, feed } = connections;
    // Flushes whose outcome was unknown get one more chance (they are skipped if applied).
    await this.metrics.add(gate, []).catch(() => {});
    await feed.stop();
    if (!connections.owned) return;
    await withDeadline(client.quit(), this.settings.commandTimeoutMs, 'close').catch(() =>
      client.disconnect(),
    );
  }

  async read(request: DriverReadRequest): Promise<DriverSnapshot> {
    const k = this.keys;
    const whole = request.collections ?? [];
    // A key that is not well-formed text cannot have been stored (commit refuses it).
    const byKey = Object.entries(request.entries ?? {})
      .filter(([name]) => !whole.includes(name as DriverCollection))
      .map(([name, keys = []]) => [name as DriverCollection, keys.filter(isWellFormedText)] as const);
    const collections = [...whole, ...byKey.map(([name]) => name)];
    const named = request.sets ?? [];
    const keys = [k.format, k.version, k.setVersions, ...collections.map((c) => k.collection(c))];
    keys.push(...named.map((s) => k.set(s)));
    const args: (string | number)[] = [whole.length, named.length, k.setPrefix, byKey.length];
    for (const [, fields] of byKey) args.push(fields.length, ...fields);
    args.push(...named.map(encodeKeyPart), ...(request.setPrefixes ?? []).map(encodeKeyPart));
    const operation = request.operation ?? 'read';
    const reply = await this.eval(operation, READ, keys, args);
    const [version, hashes, namedSets, prefixed] = reply as [unknown, unknown[][], unknown[][], unknown[]];
    const entries: Partial<Record<DriverCollection, DriverEntry[]>> = {};
    for (const [i, name] of collections.entries())
      entries[name] = decodeEntries(hashes[i], k.collection(name));
    const sets: Record<string, DriverSet> = Object.create(null);
    const set = (version: unknown, members: unknown): DriverSet => ({
      version: decodeVersion(version, k.setVersions),
      members: Array.isArray(members) ? members.map(String) : [],
    });
    for (const [i, name] of named.entries()) sets[name] = set(namedSets[i]?.[0], namedSets[i]?.[1]);
    for (let i = 0; i + 2 < prefixed.length; i += 3) {
      sets[decodeSetName(prefixed[i], k.setVersions)] = set(prefixed[i + 1], prefixed[i + 2]);
    }
    return { version: decodeVersion(version, k.version), collections: entries, sets };
  }

  async get(collection: DriverCollection, keys: readonly string[], operation = 'get') {
    const snap = await this.read({ operation, entries: { [collection]: keys } });
    const found = new Map(snap.collections[collection]?.map((e) => [e.key, e]));
    return keys.map((key) => found.get(key));
  }

  async commit(commit: DriverCommit): Promise<DriverCommitResult> {
    const k = this.keys;
    const keys = [k.format, k.version, k.setVersions];
    // A key's number in KEYS; a key used twice is declared twice, which Redis allows.
    const at = (key: string): number => keys.push(key);
    const expectations = commit.expect ?? [];
    const args: (string | number)[] = [commit.quiet ? '' : k.changes, this.origin, expectations.length];
    for (const x of expectations) {
      if ('set' in x) args.push('s', 0, encodeKeyPart(x.set), x.version);
      else args.push('e', at(k.collection(x.collection)), field(x.key), x.version ?? '');
    }
    for (const op of commit.operations) {
      if (op.op === 'put') {
        args.push('p', at(k.collection(op.collection)), field(op.key), encodeValue(op.value));
      } else if (op.op === 'delete') {
        args.push('d', at(k.collection(op.collection)), field(op.key));
      } else if (op.op === 'append') {
        args.push('l', at(k.log(op.log)), `${op.at} ${encodeValue(op.entry)}`, op.retain);
      } else if (op.op === 'set-clear') {
        args.push('c', at(k.set(op.set)), encodeKeyPart(op.set));
      } else {
        const members = op.members.map(field);
        args.push(op.op === 'set-add' ? 'a' : 'r', at(k.set(op.set)), encodeKeyPart(op.set));
        args.push(members.length, ...members);
      }
    }
    const reply = (await this.eval('commit', COMMIT, keys, args)) as unknown[];
    if (reply[0] === 1) {
      const version = decodeVersion(reply[1], k.version);
      if (commit.reportSetChanges !== true) return { committed: true, version };
      const counts = Array.isArray(reply[2]) ? reply[2] : [];
      return { committed: true, version, setChanges: counts.map((n) => Number(n) > 0) };
    }
    const conflicts: (DriverExpectation & { found: number | null })[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const expected = expectations[Number(reply[i]) - 1];
      if (expected === undefined) throw new StoreUnavailableError(`${PKG}: commit failed: unexpected reply`);
      conflicts.push({ ...expected, found: reply[i + 1] === '' ? null : Number(reply[i + 1]) });
    }
    return { committed: false, conflicts };
  }

  async readLog(log: DriverLog, query: DriverLogQuery = {}): Promise<unknown[]> {
    const { since, limit } = query;
    if (limit === 0 || since === Number.POSITIVE_INFINITY) return [];
    const key = this.keys.log(log);
    const args = [since === undefined || since === Number.NEGATIVE_INFINITY ? '' : since, limit ?? ''];
    const lines = await this.eval('readLog', READ_LOG, [this.keys.format, key], args);
    return (lines as unknown[]).map((line) => decodeTagged(line, `a line of ${key}`).value);
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    if (deltas.length === 0) return;
    // Bounded by MetricsOps itself: a deadline here could reject a flush that MetricsOps holds
    // for delivery, and the caller would send it a second time.
    await this.run('addMetrics', (gate) => this.metrics.add(gate, deltas, batch), false);
  }

  async readMetrics(since: number, features?: readonly string[], options: MetricsReadOptions = {}) {
    return this.run('readMetrics', (gate) => this.metrics.read(gate, since, features, options));
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.listeners.add(listener);
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
    this.known = -1;
    const heard = (version: number, tell: boolean) => {
      const moved = version !== this.known;
      this.known = version;
      if (moved && tell) this.listeners.notify({ version });
    };
    const feed = new ChangeFeed({
      transport: new PubSubTransport(subscriber, this.keys.changes, this.settings.commandTimeoutMs),
      readVersion: () =>
        withDeadline(this.read({}), this.settings.commandTimeoutMs, 'readVersion').then((s) => s.version),
      onNotified: (version, origin) => heard(version, origin !== this.origin),
      onChecked: (version) => heard(version, true),
      onError: (error) => {
        // A connection that stopped answering without closing (a half-open TCP connection) would
        // time out every call until the OS gives up on it; a new connection recovers sooner.
        if (owned && client.status === 'ready' && isTimeout(error)) client.disconnect(true);
      },
      pollIntervalMs: this.settings.pollIntervalMs,
      timeoutMs: this.settings.commandTimeoutMs,
    });
    const limit = this.settings.connectTimeoutMs;
    const started = Date.now();
    try {
      if (client.status === 'wait') client.connect().catch(() => {});
      await withDeadline(waitReady(client), limit, 'open');
      await withDeadline(feed.start(), Math.max(1, limit - (Date.now() - started)), 'subscribe');
      this.connections = { client, owned, gate, feed };
      // Read after subscribing: a change made from here on arrives as a message. The read
      // refuses a namespace of another layout format (a later format migrates older ones here).
      this.known = Math.max(this.known, (await this.read({})).version);
    } catch (error) {
      this.connections = undefined;
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
    await this.checkEviction(gate);
  }

  /**
   * Warns when Redis may evict this store's keys: under `allkeys-*` any key (features, beta
   * lists, the blacklist), under `volatile-*` the metric buckets (they carry a TTL) before their
   * retention. A server that refuses INFO (some managed services) is not warned about.
   */
  private async checkEviction(gate: CommandGate): Promise<void> {
    const info = await withDeadline(
      gate.send('checkEviction', (c) => c.info('memory')),
      this.settings.commandTimeoutMs,
      'open',
    ).then(String, () => '');
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

  /** Runs one primitive: fails fast when not open, settles within the command timeout. */
  private async run<T>(op: string, body: (gate: CommandGate) => Promise<T>, deadline = true): Promise<T> {
    try {
      const gate = this.connections?.gate;
      if (gate === undefined) throw refused(op, 'the store is not open (call open() first)');
      const call = body(gate);
      return await (deadline ? withDeadline(call, this.settings.commandTimeoutMs, op) : call);
    } catch (error) {
      throw toStoreError(error, op);
    }
  }

  private eval(op: string, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]) {
    return this.run(op, (gate) => gate.eval(op, script, keys, args));
  }
}

/** The entries of an HGETALL reply: `<version> <JSON>` under each key. */
function decodeEntries(flat: readonly unknown[] = [], location: string): DriverEntry[] {
  const out: DriverEntry[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const { tag, value } = decodeTagged(flat[i + 1], `an entry of ${location}`);
    if (!Number.isSafeInteger(tag) || tag < 1) {
      throw new StoreDataCorruptedError(`${PKG}: corrupted data in an entry of ${location}: bad version`);
    }
    out.push({ key: String(flat[i]), value, version: tag });
  }
  return out;
}

/** A hash field or set member: text Redis keeps as given (a lone surrogate would not be). */
function field(text: string): string {
  if (isWellFormedText(text)) return text;
  throw new InvalidArgumentError(`${PKG}: a key or member is not valid Unicode text (lone surrogate)`);
}

function decodeSetName(encoded: unknown, location: string): string {
  try {
    return decodeURIComponent(String(encoded));
  } catch {
    throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${location}: a field is not a set name`);
  }
}

/** True for ioredis's command timeout and the store's own deadline. */
function isTimeout(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return message.includes('timed out') || message.includes('no answer from Redis');
}
