import {
  assertUserIdArgument,
  type BetaUser,
  betaUserSchema,
  ConflictError,
  describeUserId,
  type FeatureRecord,
  type FeatureWrite,
  type Feedback,
  featureRecordSchema,
  feedbackSchema,
  InvalidArgumentError,
  isCanaryRolloutError,
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
  normalizeEmail,
  notifyListeners,
  parseArgument,
  planRollback,
  type RollbackRecord,
  type RollbackRequest,
  type RollbackResult,
  type RolloutState,
  type RolloutStore,
  type StoreChange,
  StoreDataCorruptedError,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { backupCurrent, type FileWrite } from './internal/atomic-write';
import {
  type ConfigBackup,
  keepDamaged,
  readLastGood,
  restoredVersion,
  writtenByNewer,
} from './internal/config-backup';
import { type ConfigDoc, readConfig, readUsers, serialize, type UsersDoc } from './internal/documents';
import { ensureFolders } from './internal/folders';
import { PKG } from './internal/fs-utils';
import { appendLine, type JsonlContent, joinLines, parseLines, readJsonlLines } from './internal/jsonl';
import { FileLock } from './internal/lock';
import { LogFile } from './internal/log-files';
import { MetricShards } from './internal/metric-shards';
import { lineOf } from './internal/records';
import { planUserRemoval } from './internal/remove-user';
import { TrustedFiles } from './internal/trusted-files';
import { ChangeWatcher } from './internal/watcher';
import { Writer } from './internal/writer';
import { type FileStoreLayout, layoutOf } from './layout';
import { type FileStoreOptions, type ResolvedFileStoreOptions, resolveOptions } from './options';

const STORE = 'storage-file';

/**
 * A `RolloutStore` on plain files, in the guide's layout under `~/.config/document-sorter/`:
 * `rollout-config.json`, `beta/beta-users.json`, `logs/alerts.jsonl`, `logs/health-reports.jsonl`,
 * plus `beta/feedback.jsonl`, `logs/rollbacks.jsonl` and `metrics/buckets-<start>.json`. Safe for several
 * processes at once (an app and the CLI): every write takes a lock file and replaces documents
 * atomically; reads take no lock.
 */
export class FileStore implements RolloutStore {
  /** The options in effect, defaults applied. */
  readonly options: ResolvedFileStoreOptions;
  /** Absolute paths of every file of the store. */
  readonly layout: FileStoreLayout;
  private readonly writer: Writer;
  private readonly watcher: ChangeWatcher;
  private readonly logFiles: Record<LogKind, LogFile>;
  private readonly metrics: MetricShards;
  private readonly trusted = new TrustedFiles();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly tornWarned = new Set<string>();
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: FileStoreOptions = {}) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.layout = layoutOf(o.dir);
    const lock = new FileLock(this.layout.lock, {
      staleMs: o.lockStaleMs,
      timeoutMs: o.lockTimeoutMs,
      onWarning: o.onWarning,
    });
    this.writer = new Writer(this.layout, lock, this.trusted);
    this.watcher = new ChangeWatcher(
      [
        { path: this.layout.config, counter: 'version', isStateVersion: true },
        { path: this.layout.users, counter: 'revision', isStateVersion: false },
      ],
      {
        pollIntervalMs: o.pollIntervalMs,
        watch: o.watch,
        onWarning: o.onWarning,
        onChange: (c) => this.emit(c),
      },
    );
    const retention = { maxEntries: o.maxLogEntries, maxBytes: o.maxLogBytes };
    const log = (kind: LogKind) => new LogFile(this.layout.logs[kind], o.dir, retention, o.onWarning);
    this.logFiles = { alerts: log('alerts'), 'health-reports': log('health-reports'), audit: log('audit') };
    this.metrics = new MetricShards({
      dir: this.layout.metricsDir,
      root: o.dir,
      shardMs: o.metricsShardMs,
      retentionMs: o.metricsRetentionMs,
      now: o.now,
      trusted: this.trusted,
    });
  }

  async open(): Promise<void> {
    if (this.state === 'open') return;
    await ensureFolders(this.writer.folders(), this.options.onWarning);
    // Finishes or clears what a crashed writer left: an interrupted commit, temporary files.
    await this.serialized('open', () => this.writer.clearLeftovers());
    await this.watcher.prime();
    this.state = 'open';
    if (this.listeners.size > 0) this.watcher.start();
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    this.state = 'closed';
    this.listeners.clear();
    await this.writer.idle();
    await this.watcher.stop();
  }

  async readState(): Promise<RolloutState> {
    const doc = await this.readConfigDoc();
    const beta: Record<string, string[]> = Object.create(null);
    for (const [feature, members] of Object.entries(doc.beta))
      if (members.length > 0) beta[feature] = members;
    return { version: doc.version, features: Object.values(doc.features), beta, blacklist: doc.blacklist };
  }

  async putFeature(feature: FeatureWrite, expectedVersion: number | null): Promise<FeatureRecord> {
    return this.serialized('write', async () => {
      const doc = await readConfig(this.layout.config, this.trusted);
      const found = doc.features[feature.name]?.version ?? null;
      if (found !== expectedVersion) {
        throw new ConflictError(
          `${PKG}: feature "${feature.name}" is at version ${found ?? 'none'}, expected ${expectedVersion ?? 'none'}`,
        );
      }
      const next = parseArgument(
        featureRecordSchema,
        { ...feature, version: (found ?? 0) + 1 },
        STORE,
        'putFeature',
      );
      doc.features[next.name] = next;
      await this.writeConfig(doc);
      return structuredClone(next);
    });
  }

  async deleteFeature(name: string): Promise<boolean> {
    return this.serialized('write', async () => {
      const doc = await readConfig(this.layout.config, this.trusted);
      if (doc.features[name] === undefined) return false;
      delete doc.features[name];
      delete doc.beta[name];
      await this.writeConfig(doc);
      return true;
    });
  }

  async registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    const valid = parseArgument(betaUserSchema, user, STORE, 'registerUser');
    return this.serialized('write', async () => {
      const doc = await readUsers(this.layout.users, this.trusted);
      const wanted = normalizeEmail(valid.email);
      const existing = doc.users.find((u) => normalizeEmail(u.email) === wanted);
      if (existing !== undefined) return { user: existing, created: false };
      if (doc.users.some((u) => u.id === valid.id)) {
        throw new ConflictError(`${PKG}: user id ${describeUserId(valid.id)} is already taken`);
      }
      doc.users.push(valid);
      await this.writeUsers(doc);
      return { user: structuredClone(valid), created: true };
    });
  }

  async getUser(id: string): Promise<BetaUser | undefined> {
    return (await this.readUsersDoc()).users.find((u) => u.id === id);
  }

  async getUserByEmail(email: string): Promise<BetaUser | undefined> {
    const wanted = normalizeEmail(email);
    return (await this.listUsers()).find((u) => normalizeEmail(u.email) === wanted);
  }

  async listUsers(): Promise<BetaUser[]> {
    // Array.prototype.sort is stable: users registered in the same millisecond keep their order.
    return (await this.readUsersDoc()).users.sort((a, b) => a.createdAt - b.createdAt);
  }

  async removeUser(id: string): Promise<boolean> {
    return this.serialized('write', async () => {
      const { config, users, feedback } = this.layout;
      const usersDoc = await readUsers(users, this.trusted);
      if (!usersDoc.users.some((u) => u.id === id)) return false;
      const configDoc = await readConfig(config, this.trusted);
      const lines = await this.readLines(feedback);
      const plan = planUserRemoval(id, { users, feedback }, usersDoc, configDoc, lines, serialize);
      if (plan === undefined) return false;
      const writes: FileWrite[] = [plan.users];
      if (plan.config !== undefined) writes.push(this.configWrite(plan.config));
      if (plan.feedback !== undefined) writes.push(plan.feedback);
      // One commit (journalled): a crash leaves the user either fully there or fully gone.
      await this.writer.commit(writes);
      // The previous copy still holds the removed user's personal data: the new one is the good copy.
      await backupCurrent(users);
      await this.trusted.trustCurrent(users);
      if (plan.config !== undefined) this.watcher.wrote(config, plan.config.version);
      this.watcher.wrote(users, usersDoc.revision + 1);
      return true;
    });
  }

  async addBetaMember(feature: string, userId: string): Promise<boolean> {
    assertUserIdArgument(userId, STORE, 'addBetaMember');
    return this.serialized('write', async () => {
      const doc = await readConfig(this.layout.config, this.trusted);
      if (doc.features[feature] === undefined)
        throw new NotFoundError(`${PKG}: unknown feature "${feature}"`);
      const members = doc.beta[feature] ?? [];
      if (members.includes(userId)) return false;
      doc.beta[feature] = [...members, userId];
      await this.writeConfig(doc);
      return true;
    });
  }

  async removeBetaMember(feature: string, userId: string): Promise<boolean> {
    assertUserIdArgument(userId, STORE, 'removeBetaMember');
    return this.serialized('write', async () => {
      const doc = await readConfig(this.layout.config, this.trusted);
      const members = doc.beta[feature];
      if (members === undefined || !members.includes(userId)) return false;
      const rest = members.filter((m) => m !== userId);
      if (rest.length > 0) doc.beta[feature] = rest;
      else delete doc.beta[feature];
      await this.writeConfig(doc);
      return true;
    });
  }

  async addToBlacklist(userId: string): Promise<boolean> {
    assertUserIdArgument(userId, STORE, 'addToBlacklist');
    return this.serialized('write', async () => {
      const doc = await readConfig(this.layout.config, this.trusted);
      if (doc.blacklist.includes(userId)) return false;
      doc.blacklist.push(userId);
      await this.writeConfig(doc);
      return true;
    });
  }

  async removeFromBlacklist(userId: string): Promise<boolean> {
    assertUserIdArgument(userId, STORE, 'removeFromBlacklist');
    return this.serialized('write', async () => {
      const doc = await readConfig(this.layout.config, this.trusted);
      if (!doc.blacklist.includes(userId)) return false;
      doc.blacklist = doc.blacklist.filter((m) => m !== userId);
      await this.writeConfig(doc);
      return true;
    });
  }

  async appendFeedback(entry: Feedback): Promise<void> {
    const valid = parseArgument(feedbackSchema, entry, STORE, 'appendFeedback');
    await this.serialized('write', async () => {
      await appendLine(this.layout.feedback, JSON.stringify(valid), this.options.onWarning);
    });
  }

  async listFeedback(feature?: string): Promise<Feedback[]> {
    this.assertOpen();
    const all = parseLines(this.layout.feedback, await this.readLines(this.layout.feedback), lineOf.feedback);
    return feature === undefined ? all : all.filter((f) => f.feature === feature);
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    const valid = deltas.map((d) => parseArgument(metricBucketSchema, d, STORE, 'addMetrics'));
    const id =
      batch === undefined ? undefined : parseArgument(metricBatchSchema, batch, STORE, 'addMetrics batch');
    if (valid.length === 0) {
      this.assertOpen();
      return;
    }
    await this.serialized('write', () => this.metrics.add(valid, id));
  }

  async readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    this.assertOpen();
    return this.metrics.read(since, features, options.users !== false);
  }

  async appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    const log = this.logFile(kind);
    const valid = parseArgument(logEntrySchema, entry, STORE, 'appendLog');
    await this.serialized('write', () => log.append(valid));
  }

  async listLogs(kind: LogKind, query: LogQuery = {}): Promise<LogEntry[]> {
    const log = this.logFile(kind);
    this.assertOpen();
    let entries = await log.list((path, content) => this.warnTorn(path, content));
    if (query.since !== undefined) {
      const since = query.since;
      entries = entries.filter((e) => e.at >= since);
    }
    if (query.limit !== undefined) entries = entries.slice(Math.max(0, entries.length - query.limit));
    return entries;
  }

  /**
   * Rolls back as the contract says. When `rollout-config.json` is damaged, the kill switch still
   * works: the rollback is applied to the last good copy (`rollout-config.json.bak`), the damaged
   * file is kept as `rollout-config.json.corrupt-<time>`, and `onWarning` says so.
   */
  async rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    return this.serialized('write', async () => {
      const { doc, recovered } = await this.configForRollback();
      const current = doc.features[feature];
      if (current === undefined) throw new NotFoundError(`${PKG}: unknown feature "${feature}"`);
      const plan = planRollback(current, doc.beta[feature]?.length ?? 0, request);
      if (!plan.performed) return { performed: false, feature: current };
      const { rollbacks } = this.layout;
      const lines = await this.readLines(rollbacks);
      // Validated before it is rewritten: foreign content is never overwritten.
      parseLines(rollbacks, lines, lineOf.rollback);
      doc.features[feature] = plan.next;
      delete doc.beta[feature];
      doc.version += 1;
      const texts = [...lines.lines.map((l) => l.text), JSON.stringify(plan.record)];
      const kept = recovered ? await keepDamaged(this.layout.config, Date.now()) : undefined;
      await this.writer.commit([
        // The .bak stays the last good copy: the damaged file is kept aside instead.
        { path: this.layout.config, data: serialize(doc), backup: !recovered },
        { path: rollbacks, data: joinLines(texts) },
      ]);
      this.watcher.wrote(this.layout.config, doc.version);
      if (recovered) {
        this.options.onWarning(
          `${PKG}: ${this.layout.config} was damaged; rolled "${feature}" back from the last good copy ${this.layout.config}.bak${kept === undefined ? '' : ` and kept the damaged file as ${kept}`}`,
        );
      }
      return { performed: true, feature: structuredClone(plan.next), record: structuredClone(plan.record) };
    });
  }

  /**
   * The backup `restoreConfigBackup` would put back: `rollout-config.json.bak` when it is valid,
   * with what it holds and why the current file cannot be used (if it cannot). `undefined` when
   * there is no valid backup.
   */
  async findConfigBackup(): Promise<ConfigBackup | undefined> {
    this.assertOpen();
    return (await readLastGood(this.layout.config, await this.configProblem()))?.backup;
  }

  /**
   * Puts the valid backup of `rollout-config.json` back, under the lock; the file it replaces is
   * kept as `rollout-config.json.corrupt-<time>`. Throws `NotFoundError` when there is no valid
   * backup. Returns what was restored, with the version it was given (past every earlier one).
   */
  async restoreConfigBackup(): Promise<ConfigBackup & { readonly keptAs: string | undefined }> {
    return this.serialized('write', async () => {
      const { config } = this.layout;
      const good = await readLastGood(config, await this.configProblem());
      if (good === undefined) throw new NotFoundError(`${PKG}: no valid backup ${config}.bak to restore`);
      if (await writtenByNewer(config)) {
        throw new StoreDataCorruptedError(
          `${PKG}: ${config} was written by a newer ${PKG}; upgrade instead of restoring an older backup over it`,
        );
      }
      const doc = good.doc;
      doc.version = await restoredVersion(config, doc.version);
      const keptAs = await keepDamaged(config, Date.now());
      await this.writer.commit([{ path: config, data: serialize(doc), backup: false }]);
      await this.trusted.trustCurrent(config);
      this.watcher.wrote(config, doc.version);
      return { ...good.backup, version: doc.version, keptAs };
    });
  }

  /** The config to roll back on: the current one, or the last good copy when the current is damaged. */
  private async configForRollback(): Promise<{ doc: ConfigDoc; recovered: boolean }> {
    try {
      return { doc: await readConfig(this.layout.config, this.trusted), recovered: false };
    } catch (error) {
      if (!isCanaryRolloutError(error, 'STORE_DATA_CORRUPTED')) throw error;
      if (await writtenByNewer(this.layout.config)) throw error;
      const good = await readLastGood(this.layout.config, error.message);
      if (good === undefined) throw error;
      // doc.version is bumped once more by the rollback itself.
      good.doc.version = (await restoredVersion(this.layout.config, good.doc.version)) - 1;
      return { doc: good.doc, recovered: true };
    }
  }

  /** Why `rollout-config.json` cannot be used, or `undefined` when it reads fine. */
  private async configProblem(): Promise<string | undefined> {
    try {
      await readConfig(this.layout.config, this.trusted);
      return undefined;
    } catch (error) {
      if (isCanaryRolloutError(error, 'STORE_DATA_CORRUPTED')) return error.message;
      throw error;
    }
  }

  async listRollbacks(feature?: string): Promise<RollbackRecord[]> {
    this.assertOpen();
    const { rollbacks } = this.layout;
    const all = parseLines(rollbacks, await this.readLines(rollbacks), lineOf.rollback);
    return feature === undefined ? all : all.filter((r) => r.feature === feature);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    if (this.state === 'open') this.watcher.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.watcher.stop();
    };
  }

  /** Runs a write under the lock, in order with this handle's other writes. */
  private serialized<T>(action: string, fn: () => Promise<T>): Promise<T> {
    if (action !== 'open') this.assertOpen();
    return this.writer.run(action, fn);
  }

  private configWrite(doc: ConfigDoc): FileWrite {
    doc.version += 1;
    return { path: this.layout.config, data: serialize(doc), backup: true };
  }

  private async writeConfig(doc: ConfigDoc): Promise<void> {
    await this.writer.commit([this.configWrite(doc)]);
    this.watcher.wrote(this.layout.config, doc.version);
  }

  private async writeUsers(doc: UsersDoc): Promise<void> {
    doc.revision += 1;
    await this.writer.commit([{ path: this.layout.users, data: serialize(doc), backup: true }]);
    this.watcher.wrote(this.layout.users, doc.revision);
  }

  private async readConfigDoc(): Promise<ConfigDoc> {
    this.assertOpen();
    return readConfig(this.layout.config, this.trusted);
  }

  private async readUsersDoc(): Promise<UsersDoc> {
    this.assertOpen();
    return readUsers(this.layout.users, this.trusted);
  }

  private async readLines(path: string): Promise<JsonlContent> {
    const content = await readJsonlLines(path);
    this.warnTorn(path, content);
    return content;
  }

  /** A torn last line is skipped; it is reported once per file and size, not on every read. */
  private warnTorn(path: string, content: JsonlContent): void {
    if (content.tornBytes === 0) return;
    const key = `${path}:${content.size}`;
    if (this.tornWarned.has(key)) return;
    this.tornWarned.add(key);
    this.options.onWarning(
      `${PKG}: ${path}: skipped a torn last line (${content.tornBytes} bytes, an interrupted write); it is removed at the next append`,
    );
  }

  private logFile(kind: LogKind): LogFile {
    const log = Object.hasOwn(this.logFiles, kind) ? this.logFiles[kind] : undefined;
    if (log === undefined) throw new InvalidArgumentError(`${PKG}: unknown log kind "${String(kind)}"`);
    return log;
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw new StoreUnavailableError(
        `${PKG}: the store at ${this.layout.root} is ${this.state === 'new' ? 'not open yet; call open() first' : 'closed'}`,
      );
    }
  }

  private emit(change: StoreChange): void {
    notifyListeners(this.listeners, change);
  }
}
