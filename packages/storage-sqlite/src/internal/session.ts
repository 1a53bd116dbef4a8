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
  type LogEntry,
  type LogKind,
  type LogQuery,
  logEntrySchema,
  type MetricBatch,
  type MetricBucket,
  NotFoundError,
  normalizeEmail,
  planRollback,
  type RollbackRecord,
  type RollbackRequest,
  type RollbackResult,
  type RolloutState,
  rollbackRecordSchema,
  StoreDataCorruptedError,
} from '@canary-rollout/core';
import type Database from 'better-sqlite3';
import type { Connection } from './connection';
import { PREFIX } from './constants';
import { MetricWriter } from './metric-writer';
import { readRecord, validArgument } from './records';
import { prepareStatements, type RecordRow, type Statements } from './statements';
import { Transactor } from './transactor';

/** Settings a session needs from the store's options. */
export interface SessionSettings {
  readonly maxLogEntries: number;
  readonly metricRetentionMs: number;
  readonly now: () => number;
}

/**
 * One open connection and the store's operations on it, synchronous as better-sqlite3 is.
 * Every write is one BEGIN IMMEDIATE transaction (see `Transactor`).
 */
export class Session {
  readonly db: Database.Database;
  readonly where: string;
  private readonly owned: boolean;
  private readonly st: Statements;
  private readonly metrics: MetricWriter;
  private readonly t: Transactor;

  constructor(
    connection: Connection,
    private readonly settings: SessionSettings,
  ) {
    this.db = connection.db;
    this.where = connection.where;
    this.owned = connection.owned;
    this.st = prepareStatements(this.db);
    this.t = new Transactor(this.db, this.st);
    this.metrics = new MetricWriter(this.st, settings);
  }

  close(): void {
    if (this.owned && this.db.open) this.db.close();
  }

  /**
   * Copies the whole WAL into the database and truncates it to 0 bytes; false when readers of
   * other connections held it off. In-memory databases have no WAL.
   */
  truncateWal(): boolean {
    if (this.db.memory) return true;
    const [row] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return row?.busy === 0;
  }

  /** The state version if another connection changed the state since the last call. */
  poll(): number | undefined {
    return this.t.poll();
  }

  readState(): RolloutState {
    return this.t.read(() => this.readStateIn());
  }

  private readStateIn(): RolloutState {
    const version = this.st.stateVersion.get() ?? 0;
    const features = this.st.features
      .all()
      .map((row) => readRecord(featureRecordSchema, row.record, `feature "${row.key}"`));
    const beta: Record<string, string[]> = Object.create(null);
    for (const [feature, userId] of this.st.beta.all()) {
      const members = beta[feature];
      if (members === undefined) beta[feature] = [userId];
      else members.push(userId);
    }
    return { version, features, beta, blacklist: this.st.blacklist.all() };
  }

  putFeature(feature: FeatureWrite, expectedVersion: number | null): FeatureRecord {
    const version = (expectedVersion ?? 0) + 1;
    let next: FeatureRecord;
    try {
      next = validArgument(featureRecordSchema, { ...feature, version }, 'putFeature');
    } catch (error) {
      // A stale version is reported as the conflict it is, before the argument's faults.
      if (typeof feature?.name === 'string') this.assertVersion(feature.name, expectedVersion);
      throw error;
    }
    const json = JSON.stringify(next);
    const name = next.name;
    this.t.write(() => {
      const changes =
        expectedVersion === null
          ? this.st.insertFeature.run(name, json).changes
          : this.st.updateFeature.run(version, json, name, expectedVersion).changes;
      if (changes === 0) this.assertVersion(name, expectedVersion, true);
      this.t.bump();
    });
    return next;
  }

  private assertVersion(name: string, expected: number | null, lost = false): void {
    const found = this.st.featureVersion.get(name) ?? null;
    if (found !== expected || lost) {
      throw new ConflictError(
        `${PREFIX}: feature "${name}" is at version ${found ?? 'none'}, expected ${expected ?? 'none'}`,
      );
    }
  }

  deleteFeature(name: string): boolean {
    // Beta members go with it (ON DELETE CASCADE).
    return this.t.write(() => this.changed(this.st.deleteFeature.run(name).changes));
  }

  registerUser(user: BetaUser): { user: BetaUser; created: boolean } {
    const valid = validArgument(betaUserSchema, user, 'registerUser');
    const email = normalizeEmail(valid.email);
    return this.t.write(() => {
      const existing = this.st.userByEmail.get(email);
      if (existing !== undefined) return { user: this.userFrom(existing), created: false };
      if (this.st.userById.get(valid.id) !== undefined) {
        throw new ConflictError(`${PREFIX}: user id ${describeUserId(valid.id)} is already taken`);
      }
      this.st.insertUser.run(valid.id, email, valid.createdAt, JSON.stringify(valid));
      this.t.bump();
      return { user: valid, created: true };
    });
  }

  getUser(id: string): BetaUser | undefined {
    const record = this.st.userById.get(id);
    return record === undefined
      ? undefined
      : readRecord(betaUserSchema, record, `user ${describeUserId(id)}`);
  }

  getUserByEmail(email: string): BetaUser | undefined {
    const row = this.st.userByEmail.get(normalizeEmail(email));
    return row === undefined ? undefined : this.userFrom(row);
  }

  listUsers(): BetaUser[] {
    return this.st.users.all().map((row) => this.userFrom(row));
  }

  removeUser(id: string): boolean {
    return this.t.write(() => {
      if (this.st.deleteUser.run(id).changes === 0) return false;
      this.st.removeUserBeta.run(id);
      this.st.removeBlacklist.run(id);
      this.st.removeUserFeedback.run(id);
      this.t.bump();
      return true;
    });
  }

  addBetaMember(feature: string, userId: string): boolean {
    assertUserIdArgument(userId, 'storage-sqlite', 'addBetaMember');
    return this.t.write(() => {
      if (this.st.featureVersion.get(feature) === undefined) {
        throw new NotFoundError(`${PREFIX}: unknown feature "${feature}"`);
      }
      return this.changed(this.st.addBeta.run(feature, userId).changes);
    });
  }

  removeBetaMember(feature: string, userId: string): boolean {
    assertUserIdArgument(userId, 'storage-sqlite', 'removeBetaMember');
    return this.t.write(() => this.changed(this.st.removeBeta.run(feature, userId).changes));
  }

  addToBlacklist(userId: string): boolean {
    assertUserIdArgument(userId, 'storage-sqlite', 'addToBlacklist');
    return this.t.write(() => this.changed(this.st.addBlacklist.run(userId).changes));
  }

  removeFromBlacklist(userId: string): boolean {
    assertUserIdArgument(userId, 'storage-sqlite', 'removeFromBlacklist');
    return this.t.write(() => this.changed(this.st.removeBlacklist.run(userId).changes));
  }

  appendFeedback(entry: Feedback): void {
    const valid = validArgument(feedbackSchema, entry, 'appendFeedback');
    const json = JSON.stringify(valid);
    this.t.write(() => this.st.insertFeedback.run(valid.userId, valid.feature, json));
  }

  listFeedback(feature?: string): Feedback[] {
    const rows = feature === undefined ? this.st.feedback.all() : this.st.featureFeedback.all(feature);
    return rows.map((row) => readRecord(feedbackSchema, row.record, `feedback #${row.key}`));
  }

  addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): void {
    const valid = this.metrics.validate(deltas);
    const id = this.metrics.validateBatch(batch);
    this.t.write(() => this.metrics.apply(valid, id));
  }

  readMetrics(since: number, features: readonly string[] | undefined, users: boolean): MetricBucket[] {
    return this.metrics.read(since, features, users);
  }

  appendLog(kind: LogKind, entry: LogEntry): void {
    const log = this.log(kind);
    const valid = validArgument(logEntrySchema, entry, 'appendLog');
    const json = JSON.stringify(valid);
    const keep = this.settings.maxLogEntries;
    this.t.write(() => {
      const seq = Number(log.insert.run(valid.at, json).lastInsertRowid);
      // Kept rows have consecutive seq values (only the oldest are ever deleted).
      if (seq > keep) log.trim.run(seq - keep);
    });
  }

  listLogs(kind: LogKind, query: LogQuery = {}): LogEntry[] {
    const rows = this.log(kind).list.all(query.since ?? Number.NEGATIVE_INFINITY, sqlLimit(query.limit));
    const out: LogEntry[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[rows.length - 1 - i] as RecordRow;
      out[i] = readRecord(logEntrySchema, row.record, `${kind} #${row.key}`);
    }
    return out;
  }

  rollback(feature: string, request: RollbackRequest): RollbackResult {
    return this.t.write(() => this.rollbackIn(feature, request));
  }

  private rollbackIn(feature: string, request: RollbackRequest): RollbackResult {
    const stored = this.st.featureRecord.get(feature);
    if (stored === undefined) throw new NotFoundError(`${PREFIX}: unknown feature "${feature}"`);
    const current = readRecord(featureRecordSchema, stored, `feature "${feature}"`);
    const plan = planRollback(current, this.st.betaCount.get(feature) ?? 0, request);
    if (!plan.performed) return { performed: false, feature: current };
    const record = validArgument(rollbackRecordSchema, plan.record, 'rollback');
    const { next } = plan;
    if (
      this.st.updateFeature.run(next.version, JSON.stringify(next), feature, current.version).changes === 0
    ) {
      throw new StoreDataCorruptedError(
        `${PREFIX}: corrupted data in feature "${feature}": its version column disagrees with its record`,
      );
    }
    this.st.clearBeta.run(feature);
    this.st.insertRollback.run(feature, record.at, JSON.stringify(record));
    this.t.bump();
    return { performed: true, feature: next, record };
  }

  listRollbacks(feature?: string): RollbackRecord[] {
    const rows = feature === undefined ? this.st.rollbacks.all() : this.st.featureRollbacks.all(feature);
    return rows.map((row) => readRecord(rollbackRecordSchema, row.record, `rollback #${row.key}`));
  }

  private userFrom(row: RecordRow): BetaUser {
    return readRecord(betaUserSchema, row.record, `user ${describeUserId(row.key)}`);
  }

  private log(kind: LogKind): Statements['logs'][LogKind] {
    if (kind !== 'alerts' && kind !== 'health-reports' && kind !== 'audit') {
      throw new InvalidArgumentError(`${PREFIX}: unknown log kind "${String(kind)}"`);
    }
    return this.st.logs[kind];
  }

  private changed(changes: number): boolean {
    if (changes === 0) return false;
    this.t.bump();
    return true;
  }
}

/** LIMIT for `listLogs`, matching `slice(length - limit)` of the reference store. */
function sqlLimit(limit: number | undefined): number {
  if (limit === undefined || Number.isNaN(limit) || limit === Number.POSITIVE_INFINITY) return -1;
  return Math.max(0, Math.floor(limit));
}
