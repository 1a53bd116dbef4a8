import { ConflictError, InvalidArgumentError, NotFoundError, StoreDataCorruptedError } from '../errors';
import { FAIL } from '../schemas/plain-checks';
import { storedFeature } from '../schemas/record-checks';
import {
  type BetaUser,
  type FeatureRecord,
  type FeatureWrite,
  type Feedback,
  type LogEntry,
  type LogKind,
  type MetricBucket,
  type RollbackRecord,
  recordSchemas,
} from '../schemas/records';
import { type Segment, targetingSchemas } from '../schemas/targeting';
import { healthMarkKey } from '../thresholds/stability';
import type {
  DriverCommit,
  DriverEntry,
  DriverExpectation,
  DriverOperation,
  DriverSetName,
  DriverSnapshot,
  RolloutDriver,
} from './driver';
import { emailKey, normalizeEmail } from './emails';
import { callListener } from './listeners';
import { jsonValueProblem, metaKeyProblem } from './meta-values';
import { isMetricBucket, metricBucketsJson } from './metric-check';
import { planRollback } from './rollback-plan';
import { validStoredFeature, validStoredFeedback, validStoredUser } from './stored-records';
import type {
  LogQuery,
  MetaRecord,
  MetricBatch,
  MetricsReadOptions,
  PutFeatureOptions,
  RollbackRequest,
  RollbackResult,
  RolloutState,
  RolloutStore,
  StoreChange,
} from './types';
import { assertUserIdArgument, describeUserId, isValidUserId } from './user-ids';
import { packageLabel, parseArgument, parseStored } from './validate';

/** Options of `createRolloutStore` and `DriverStore`. */
export interface RolloutStoreOptions {
  /**
   * Who speaks in messages: a package name (`'@acme/rollout-store'`), or a canary-rollout
   * package without its scope (`'storage-file'`).
   */
  readonly name: string;
  /** Entries kept per log (alerts, health reports, audit). @default 10000 */
  readonly maxLogEntries?: number;
  /** Rollback records kept. @default 10000 */
  readonly maxRollbackRecords?: number;
}

/** The store's logs, the ones `appendLog` and `listLogs` accept. */
const LOG_KINDS: ReadonlySet<string> = new Set<LogKind>(['alerts', 'health-reports', 'audit']);
const BETA = 'beta:';
const BLACKLIST = 'blacklist';
/** Rounds of read and conditional commit before a write gives up under contention. */
const MAX_ATTEMPTS = 100;
/** Width of the numbers in feedback keys, so keys sort as the numbers do. */
const KEY_DIGITS = 16;

/** Marks a round of a read-and-commit loop that lost a race and must read again. */
const AGAIN = Symbol('again');
type Round<T> = T | typeof AGAIN;

const betaSet = (feature: string): DriverSetName => `${BETA}${feature}`;
const pad = (n: number): string => String(n).padStart(KEY_DIGITS, '0');

function positiveCount(value: unknown, fallback: number, field: string, label: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${label}: ${field} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Every `RolloutStore` rule written once over a `RolloutDriver`: compare-and-set, email
 * uniqueness in the same commit as the user, the `removeUser` cascade in one commit, atomic
 * rollback, retention, validation of what is written and read, messages without personal data.
 * Store packages extend it to keep their own class (`class FileStore extends DriverStore`).
 */
export class DriverStore implements RolloutStore {
  /** The driver under this store. */
  protected readonly driver: RolloutDriver;
  /** The package name the store's messages start with. */
  protected readonly label: string;
  private readonly storeName: string;
  private readonly maxLogEntries: number;
  private readonly maxRollbackRecords: number;
  /**
   * Whether the driver reports what a commit changed in a set (`setChanges`), as its last
   * membership commit showed; until one did, sets are read before a membership change.
   */
  private reportsSetChanges = false;

  constructor(driver: RolloutDriver, options: RolloutStoreOptions) {
    this.driver = driver;
    this.storeName = options.name;
    this.label = packageLabel(options.name);
    this.maxLogEntries = positiveCount(options.maxLogEntries, 10_000, 'maxLogEntries', this.label);
    this.maxRollbackRecords = positiveCount(
      options.maxRollbackRecords,
      10_000,
      'maxRollbackRecords',
      this.label,
    );
  }

  open(): Promise<void> {
    return this.driver.open();
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  async readState(): Promise<RolloutState> {
    const snap = await this.driver.read({
      operation: 'readState',
      collections: ['features', 'segments'],
      sets: [BLACKLIST],
      setPrefixes: [BETA],
    });
    const features = (snap.collections.features ?? []).map((e) => this.feature(e));
    features.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // A null prototype: a feature named `__proto__` is a list like any other.
    const beta: Record<string, string[]> = Object.create(null);
    for (const [name, set] of Object.entries(snap.sets)) {
      if (name.startsWith(BETA) && set.members.length > 0) beta[name.slice(BETA.length)] = [...set.members];
    }
    const state = {
      version: snap.version,
      features,
      beta,
      blacklist: [...(snap.sets[BLACKLIST]?.members ?? [])],
    };
    const entries = snap.collections.segments ?? [];
    if (entries.length === 0) return state;
    const segments: Record<string, Segment> = Object.create(null);
    for (const entry of entries) segments[entry.key] = this.segment(entry);
    return { ...state, segments };
  }

  async putSegment(name: string, segment: Segment): Promise<Segment> {
    const key = parseArgument(targetingSchemas().segmentName, name, this.storeName, 'putSegment name');
    const valid = parseArgument(targetingSchemas().segment, segment, this.storeName, 'putSegment segment');
    return this.rounds('putSegment', async () => {
      const [entry] = await this.driver.get('segments', [key], 'putSegment');
      const done = await this.commit('putSegment', {
        expect: [{ collection: 'segments', key, version: entry?.version ?? null }],
        operations: [{ op: 'put', collection: 'segments', key, value: valid }],
      });
      return done ? structuredClone(valid) : AGAIN;
    });
  }

  deleteSegment(name: string): Promise<boolean> {
    const key = parseArgument(targetingSchemas().segmentName, name, this.storeName, 'deleteSegment name');
    return this.rounds('deleteSegment', async () => {
      const [entry] = await this.driver.get('segments', [key], 'deleteSegment');
      if (entry === undefined) return false;
      const done = await this.commit('deleteSegment', {
        expect: [{ collection: 'segments', key, version: entry.version }],
        operations: [{ op: 'delete', collection: 'segments', key }],
      });
      return done ? true : AGAIN;
    });
  }

  async putFeature(
    feature: FeatureWrite,
    expectedVersion: number | null,
    options: PutFeatureOptions = {},
  ): Promise<FeatureRecord> {
    this.expectedVersionArgument(expectedVersion, 'putFeature', true);
    const metas = this.metaExpectations(options.expectMeta);
    let next: FeatureRecord;
    try {
      const record = { ...feature, version: (expectedVersion ?? 0) + 1 };
      // The hand-written check first, as on reads: zod speaks only for what it does not accept.
      const checked = storedFeature(record);
      next =
        checked === FAIL
          ? parseArgument(recordSchemas().featureRecord, record, this.storeName, 'putFeature')
          : checked;
    } catch (error) {
      // A caller working from a stale version learns that first: its record's faults may be
      // nothing but the stale view.
      const name = (feature as { name?: unknown } | null)?.name;
      if (typeof name === 'string') {
        const [entry] = await this.driver.get('features', [name], 'putFeature');
        const found = entry?.version ?? null;
        if (found !== expectedVersion) throw this.featureConflict(name, found, expectedVersion);
      }
      throw error;
    }
    const result = await this.driver.commit({
      operation: 'putFeature',
      expect: [{ collection: 'features', key: next.name, version: expectedVersion }, ...metas],
      operations: [{ op: 'put', collection: 'features', key: next.name, value: next }],
    });
    if (!result.committed) {
      const entries = result.conflicts.flatMap((c) => ('collection' in c ? [c] : []));
      const stale = entries.find((c) => c.collection === 'features');
      const meta = entries.find((c) => c.collection === 'meta');
      if (stale === undefined && meta !== undefined) {
        throw new ConflictError(
          `${this.label}: putFeature "${next.name}": meta record "${meta.key}" is at version ${meta.found ?? 'none'}, expected ${meta.version ?? 'none'}`,
        );
      }
      throw this.featureConflict(next.name, stale?.found ?? null, expectedVersion);
    }
    return next;
  }

  /** `putFeature`'s `expectMeta`, checked, as commit expectations. */
  private metaExpectations(expectMeta: unknown): DriverExpectation[] {
    if (expectMeta === undefined) return [];
    if (!Array.isArray(expectMeta)) {
      throw new InvalidArgumentError(`${this.label}: putFeature: expectMeta must be an array`);
    }
    return expectMeta.map((x: unknown) => {
      const { key, version } = (x ?? {}) as { key?: unknown; version?: unknown };
      this.metaKeyArgument(key, 'putFeature expectMeta');
      this.expectedVersionArgument(version, 'putFeature expectMeta', true);
      return { collection: 'meta', key, version: version as number | null };
    });
  }

  private featureConflict(name: string, found: number | null, expected: number | null): ConflictError {
    return new ConflictError(
      `${this.label}: feature "${name}" is at version ${found ?? 'none'}, expected ${expected ?? 'none'}`,
    );
  }

  deleteFeature(name: string): Promise<boolean> {
    return this.rounds('deleteFeature', async () => {
      const [entry] = await this.driver.get('features', [name], 'deleteFeature');
      if (entry === undefined) return false;
      const done = await this.commit('deleteFeature', {
        expect: [{ collection: 'features', key: name, version: entry.version }],
        operations: [
          { op: 'delete', collection: 'features', key: name },
          { op: 'set-clear', set: betaSet(name) },
          // A mark names its stage, so a feature made again under the name would not count it;
          // deleting it keeps meta from growing with every feature ever removed.
          { op: 'delete', collection: 'meta', key: healthMarkKey(name) },
        ],
      });
      return done ? true : AGAIN;
    });
  }

  async registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    const valid = parseArgument(recordSchemas().betaUser, user, this.storeName, 'registerUser');
    const key = emailKey(valid.email);
    return this.rounds('registerUser', async () => {
      const [index] = await this.driver.get('emails', [key], 'registerUser');
      if (index !== undefined) {
        const owner = await this.userById(this.indexedId(index), 'registerUser');
        // The key is a digest of the normalized email; the record has the final word.
        if (owner !== undefined && normalizeEmail(owner.email) === normalizeEmail(valid.email)) {
          return { user: owner, created: false };
        }
      }
      const [taken] = await this.driver.get('users', [valid.id], 'registerUser');
      if (taken !== undefined) {
        throw new ConflictError(`${this.label}: user id ${describeUserId(valid.id)} is already taken`);
      }
      const done = await this.commit('registerUser', {
        expect: [
          // A stale index entry (its user gone) is taken over at the version read.
          { collection: 'emails', key, version: index?.version ?? null },
          { collection: 'users', key: valid.id, version: null },
        ],
        operations: [
          { op: 'put', collection: 'users', key: valid.id, value: valid },
          { op: 'put', collection: 'emails', key, value: valid.id },
        ],
      });
      return done ? { user: structuredClone(valid), created: true } : AGAIN;
    });
  }

  async getUser(id: string): Promise<BetaUser | undefined> {
    // No user can have an invalid id, and a key that is not a string means nothing to a driver.
    return isValidUserId(id) ? this.userById(id, 'getUser') : undefined;
  }

  async getUserByEmail(email: string): Promise<BetaUser | undefined> {
    if (typeof email !== 'string') return undefined;
    const [index] = await this.driver.get('emails', [emailKey(email)], 'getUserByEmail');
    if (index === undefined) return undefined;
    const user = await this.userById(this.indexedId(index), 'getUserByEmail');
    return user !== undefined && normalizeEmail(user.email) === normalizeEmail(email) ? user : undefined;
  }

  async listUsers(): Promise<BetaUser[]> {
    const snap = await this.driver.read({ operation: 'listUsers', collections: ['users'] });
    const users = (snap.collections.users ?? []).map((e) => this.user(e));
    return users.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  removeUser(id: string): Promise<boolean> {
    if (!isValidUserId(id)) return Promise.resolve(false);
    return this.rounds('removeUser', async () => {
      const snap = await this.driver.read({
        operation: 'removeUser',
        collections: ['users', 'feedback'],
        sets: [BLACKLIST],
        setPrefixes: [BETA],
      });
      const entry = snap.collections.users?.find((e) => e.key === id);
      if (entry === undefined) return false;
      const commit: { expect: DriverExpectation[]; operations: DriverOperation[] } = {
        expect: [{ collection: 'users', key: id, version: entry.version }],
        operations: [{ op: 'delete', collection: 'users', key: id }],
      };
      // The email index entry goes with the user, unless it already names another user.
      const email = (entry.value as { email?: unknown } | null)?.email;
      if (typeof email === 'string') {
        const key = emailKey(email);
        const [index] = await this.driver.get('emails', [key], 'removeUser');
        if (index !== undefined && index.value === id) {
          commit.expect.push({ collection: 'emails', key, version: index.version });
          commit.operations.push({ op: 'delete', collection: 'emails', key });
        }
      }
      // Every set is expected at the version read, so a membership added meanwhile is not left behind.
      for (const [name, set] of Object.entries(snap.sets)) {
        commit.expect.push({ set: name as DriverSetName, version: set.version });
        if (set.members.includes(id)) {
          commit.operations.push({ op: 'set-remove', set: name as DriverSetName, members: [id] });
        }
      }
      for (const f of snap.collections.feedback ?? []) {
        // Read loosely: erasure must work even next to a damaged record.
        if ((f.value as { userId?: unknown } | null)?.userId !== id) continue;
        commit.expect.push({ collection: 'feedback', key: f.key, version: f.version });
        commit.operations.push({ op: 'delete', collection: 'feedback', key: f.key });
      }
      return (await this.commit('removeUser', commit)) ? true : AGAIN;
    });
  }

  async addBetaMember(feature: string, userId: string): Promise<boolean> {
    assertUserIdArgument(userId, this.storeName, 'addBetaMember');
    return this.rounds('addBetaMember', async () => {
      const set = betaSet(feature);
      // The feature by key (reading every feature each time would make a fleet-wide import
      // quadratic), and its list only where the driver does not report what its commits changed:
      // a read of the whole list per addition makes filling a list of 100,000 quadratic too.
      const reports = this.reportsSetChanges;
      const snap = await this.driver.read({
        operation: 'addBetaMember',
        entries: { features: [feature] },
        ...(reports ? {} : { sets: [set] }),
      });
      const entry = snap.collections.features?.find((e) => e.key === feature);
      if (entry === undefined) throw new NotFoundError(`${this.label}: unknown feature "${feature}"`);
      if (!reports && snapshotSet(snap, set).members.includes(userId)) return false;
      return this.memberCommit('addBetaMember', {
        // Only the feature: a list must not outlive a feature deleted meanwhile. Adding is
        // idempotent, so other additions to the list need not make this one read again (a
        // thousand writers filling one list would otherwise lose round after round).
        expect: [{ collection: 'features', key: feature, version: entry.version }],
        operations: [{ op: 'set-add', set, members: [userId] }],
      });
    });
  }

  async removeBetaMember(feature: string, userId: string): Promise<boolean> {
    assertUserIdArgument(userId, this.storeName, 'removeBetaMember');
    // Without its feature a list is empty (deleteFeature clears it) or left from lost data: it is
    // read rather than written to, so a misspelt feature leaves no set behind.
    const known =
      this.reportsSetChanges &&
      (await this.driver.get('features', [feature], 'removeBetaMember'))[0] !== undefined;
    return this.setChange('removeBetaMember', betaSet(feature), userId, false, !known);
  }

  async addToBlacklist(userId: string): Promise<boolean> {
    assertUserIdArgument(userId, this.storeName, 'addToBlacklist');
    return this.setChange('addToBlacklist', BLACKLIST, userId, true, !this.reportsSetChanges);
  }

  async removeFromBlacklist(userId: string): Promise<boolean> {
    assertUserIdArgument(userId, this.storeName, 'removeFromBlacklist');
    return this.setChange('removeFromBlacklist', BLACKLIST, userId, false, !this.reportsSetChanges);
  }

  async appendFeedback(entry: Feedback): Promise<void> {
    const valid = parseArgument(recordSchemas().feedback, entry, this.storeName, 'appendFeedback');
    await this.rounds('appendFeedback', async () => {
      // Keys sort by time, then by the store version seen: appends in sequence keep their order
      // across handles even within one millisecond.
      const { version } = await this.driver.read({ operation: 'appendFeedback' });
      const key = `${pad(valid.at)}.${pad(version)}.${valid.id}`;
      const done = await this.commit('appendFeedback', {
        // Feedback is not part of the state other processes cache.
        quiet: true,
        expect: [{ collection: 'feedback', key, version: null }],
        operations: [{ op: 'put', collection: 'feedback', key, value: valid }],
      });
      return done ? undefined : AGAIN;
    });
  }

  async listFeedback(feature?: string): Promise<Feedback[]> {
    const snap = await this.driver.read({ operation: 'listFeedback', collections: ['feedback'] });
    const entries = [...(snap.collections.feedback ?? [])].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    );
    const all = entries.map((e, i) => validStoredFeedback(e.value, this.storeName, `feedback #${i}`));
    return feature === undefined ? all : all.filter((f) => f.feature === feature);
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    if (!Array.isArray(deltas)) {
      throw new InvalidArgumentError(`${this.label}: addMetrics: deltas must be an array`);
    }
    // The hand-written check first: zod's cost per register adds up on every flush. For a driver
    // sending JSON it writes the text as it checks; zod speaks only when a bucket fails it.
    const json = this.driver.metricsEncoding === 'json' ? metricBucketsJson(deltas) : undefined;
    const valid =
      json !== undefined
        ? (deltas.slice() as MetricBucket[])
        : deltas.map((d) =>
            isMetricBucket(d)
              ? d
              : parseArgument(recordSchemas().metricBucket, d, this.storeName, 'addMetrics'),
          );
    const id =
      batch === undefined
        ? undefined
        : parseArgument(recordSchemas().metricBatch, batch, this.storeName, 'addMetrics batch');
    await (json === undefined ? this.driver.addMetrics(valid, id) : this.driver.addMetrics(valid, id, json));
  }

  readMetrics(
    since: number,
    features?: readonly string[],
    options?: MetricsReadOptions,
  ): Promise<MetricBucket[]> {
    if (typeof since !== 'number' || Number.isNaN(since)) {
      throw new InvalidArgumentError(
        `${this.label}: readMetrics: since must be a number, got ${String(since)}`,
      );
    }
    // Buckets are the driver's to decode (it merges them), and the monitor's hot read: passed through.
    return this.driver.readMetrics(since, features, options);
  }

  async appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    this.logKindArgument(kind);
    const valid = parseArgument(recordSchemas().logEntry, entry, this.storeName, 'appendLog');
    await this.driver.commit({
      operation: 'appendLog',
      operations: [{ op: 'append', log: kind, at: valid.at, entry: valid, retain: this.maxLogEntries }],
    });
  }

  async listLogs(kind: LogKind, query: LogQuery = {}): Promise<LogEntry[]> {
    this.logKindArgument(kind);
    const { since, limit } = query;
    if (since !== undefined && (typeof since !== 'number' || Number.isNaN(since))) {
      throw new InvalidArgumentError(`${this.label}: listLogs: since must be a number, got ${String(since)}`);
    }
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new InvalidArgumentError(
        `${this.label}: listLogs: limit must be a non-negative integer, got ${String(limit)}`,
      );
    }
    const entries = await this.driver.readLog(kind, {
      operation: 'listLogs',
      ...(since === undefined ? {} : { since }),
      ...(limit === undefined ? {} : { limit }),
    });
    return entries.map((value, i) =>
      parseStored(recordSchemas().logEntry, value, this.storeName, `${kind} #${i}`),
    );
  }

  rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    return this.rounds('rollback', async () => {
      const set = betaSet(feature);
      // The feature and its list in one consistent read (one round trip), by key: a fleet-wide
      // rollback of every feature stays linear (reading the whole feature list each time would not).
      const snap = await this.driver.read({
        operation: 'rollback',
        entries: { features: [feature] },
        sets: [set],
      });
      const entry = snap.collections.features?.find((e) => e.key === feature);
      if (entry === undefined) throw new NotFoundError(`${this.label}: unknown feature "${feature}"`);
      const current = this.feature(entry);
      const members = snapshotSet(snap, set);
      const plan = planRollback(current, members.members.length, request);
      if (!plan.performed) return { performed: false, feature: current };
      const done = await this.commit('rollback', {
        expect: [
          { collection: 'features', key: feature, version: entry.version },
          { set, version: members.version },
        ],
        operations: [
          { op: 'put', collection: 'features', key: feature, value: plan.next },
          { op: 'set-clear', set },
          {
            op: 'append',
            log: 'rollbacks',
            at: plan.record.at,
            entry: plan.record,
            retain: this.maxRollbackRecords,
          },
        ],
      });
      // The loser of a race reads again: the winner's rollback leaves nothing to do, so it records nothing.
      return done ? { performed: true, feature: plan.next, record: plan.record } : AGAIN;
    });
  }

  async listRollbacks(feature?: string): Promise<RollbackRecord[]> {
    const entries = await this.driver.readLog('rollbacks', { operation: 'listRollbacks' });
    const all = entries.map((value, i) =>
      parseStored(recordSchemas().rollbackRecord, value, this.storeName, `rollback #${i}`),
    );
    return feature === undefined ? all : all.filter((r) => r.feature === feature);
  }

  async readMeta(prefix?: string): Promise<MetaRecord[]> {
    if (prefix !== undefined && typeof prefix !== 'string') {
      throw new InvalidArgumentError(
        `${this.label}: readMeta: prefix must be a string, got ${typeof prefix}`,
      );
    }
    const snap = await this.driver.read({ operation: 'readMeta', collections: ['meta'] });
    return (snap.collections.meta ?? [])
      .filter((e) => prefix === undefined || e.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((e) => this.meta(e));
  }

  async putMeta(key: string, value: unknown, expectedVersion: number | null): Promise<MetaRecord> {
    this.metaKeyArgument(key, 'putMeta');
    this.expectedVersionArgument(expectedVersion, 'putMeta', true);
    const problem = jsonValueProblem(value);
    if (problem !== undefined) {
      throw new InvalidArgumentError(`${this.label}: putMeta: value ${problem}`);
    }
    const stored = structuredClone(value);
    const result = await this.driver.commit({
      operation: 'putMeta',
      // Monitors read these records themselves; no snapshot is built from them.
      quiet: true,
      expect: [{ collection: 'meta', key, version: expectedVersion }],
      operations: [{ op: 'put', collection: 'meta', key, value: stored }],
    });
    if (!result.committed) {
      const found = result.conflicts[0]?.found ?? null;
      throw new ConflictError(
        `${this.label}: meta record "${key}" is at version ${found ?? 'none'}, expected ${expectedVersion ?? 'none'}`,
      );
    }
    return { key, value: structuredClone(stored), version: (expectedVersion ?? 0) + 1 };
  }

  deleteMeta(key: string, expectedVersion?: number): Promise<boolean> {
    this.metaKeyArgument(key, 'deleteMeta');
    if (expectedVersion !== undefined) this.expectedVersionArgument(expectedVersion, 'deleteMeta', false);
    return this.rounds('deleteMeta', async () => {
      const [entry] = await this.driver.get('meta', [key], 'deleteMeta');
      if (entry === undefined) return false;
      if (expectedVersion !== undefined && entry.version !== expectedVersion) {
        throw new ConflictError(
          `${this.label}: meta record "${key}" is at version ${entry.version}, expected ${expectedVersion}`,
        );
      }
      const done = await this.commit('deleteMeta', {
        quiet: true,
        expect: [{ collection: 'meta', key, version: entry.version }],
        operations: [{ op: 'delete', collection: 'meta', key }],
      });
      return done ? true : AGAIN;
    });
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    // Wrapped, whatever the driver does with a failing listener.
    return this.driver.subscribe((change) => callListener(listener, change));
  }

  /**
   * Adds or removes one member of a set; whether it changed anything. `readFirst`: the set is
   * read to tell, and nothing is written when the member is already as asked.
   */
  private async setChange(
    operation: string,
    set: DriverSetName,
    member: string,
    add: boolean,
    readFirst: boolean,
  ): Promise<boolean> {
    if (readFirst) {
      const current = snapshotSet(await this.driver.read({ operation, sets: [set] }), set);
      if (current.members.includes(member) === add) return false;
    }
    // Adding or removing one member is idempotent: no expectation, so writers of other members
    // never make this one read again.
    return this.rounds(operation, () =>
      this.memberCommit(operation, {
        operations: [{ op: add ? 'set-add' : 'set-remove', set, members: [member] }],
      }),
    );
  }

  /**
   * Commits one `set-add` or `set-remove` (with its expectations); whether it changed the set,
   * as the driver reports. A driver that does not report leaves the answer to the read before
   * (true here: the member was not as asked then; two callers racing may both hear true), and
   * is not asked to spare that read again.
   */
  private async memberCommit(
    operation: string,
    commit: Omit<DriverCommit, 'operation'>,
  ): Promise<Round<boolean>> {
    const result = await this.driver.commit({ ...commit, operation, reportSetChanges: true });
    if (!result.committed) return AGAIN;
    const changed = result.setChanges?.[0];
    this.reportsSetChanges = changed !== undefined;
    return changed ?? true;
  }

  /** Runs read-and-commit rounds until one is not `AGAIN`. */
  private async rounds<T>(operation: string, round: () => Promise<Round<T>>): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await round();
      if (result !== AGAIN) return result;
    }
    throw new ConflictError(
      `${this.label}: ${operation} lost ${MAX_ATTEMPTS} races in a row to other writers; try again`,
    );
  }

  private async commit(operation: string, commit: DriverCommit): Promise<boolean> {
    return (await this.driver.commit({ ...commit, operation })).committed;
  }

  private feature(entry: DriverEntry): FeatureRecord {
    const record = validStoredFeature(entry.value, this.storeName, `feature "${entry.key}"`);
    if (record.name !== entry.key || record.version !== entry.version) {
      throw new StoreDataCorruptedError(
        `${this.label}: corrupted data in feature "${entry.key}": the record says name "${record.name}" at version ${record.version}, the store holds it under "${entry.key}" at version ${entry.version}`,
      );
    }
    return record;
  }

  private segment(entry: DriverEntry): Segment {
    if (!targetingSchemas().segmentName.safeParse(entry.key).success) {
      throw new StoreDataCorruptedError(
        `${this.label}: corrupted data in the segments: a segment is stored under the name ${JSON.stringify(entry.key.slice(0, 64))}`,
      );
    }
    return parseStored(targetingSchemas().segment, entry.value, this.storeName, `segment "${entry.key}"`);
  }

  private user(entry: DriverEntry): BetaUser {
    return validStoredUser(entry.value, this.storeName, `user ${describeUserId(entry.key)}`);
  }

  private async userById(id: string, operation: string): Promise<BetaUser | undefined> {
    const [entry] = await this.driver.get('users', [id], operation);
    return entry === undefined ? undefined : this.user(entry);
  }

  private indexedId(entry: DriverEntry): string {
    if (!isValidUserId(entry.value)) {
      throw new StoreDataCorruptedError(
        `${this.label}: corrupted data in the email index: an entry holds ${describeUserId(entry.value)}, not a user id`,
      );
    }
    return entry.value;
  }

  private meta(entry: DriverEntry): MetaRecord {
    const problem = jsonValueProblem(entry.value);
    if (problem !== undefined) {
      throw new StoreDataCorruptedError(
        `${this.label}: corrupted data in meta record "${entry.key}": value ${problem}`,
      );
    }
    return { key: entry.key, value: entry.value, version: entry.version };
  }

  private logKindArgument(kind: unknown): asserts kind is LogKind {
    if (typeof kind !== 'string' || !LOG_KINDS.has(kind)) {
      throw new InvalidArgumentError(`${this.label}: unknown log kind "${String(kind)}"`);
    }
  }

  private metaKeyArgument(key: unknown, operation: string): asserts key is string {
    const problem = metaKeyProblem(key);
    if (problem !== undefined) throw new InvalidArgumentError(`${this.label}: ${operation}: key ${problem}`);
  }

  private expectedVersionArgument(value: unknown, operation: string, nullable: boolean): void {
    if (value === null && nullable) return;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError(
        `${this.label}: ${operation}: expectedVersion must be ${nullable ? 'null or ' : ''}a positive integer, got ${value === null ? 'null' : String(value)}`,
      );
    }
  }
}

/** A set of a snapshot; a set the driver did not return is treated as never written. */
function snapshotSet(snap: DriverSnapshot, name: string): { members: readonly string[]; version: number } {
  return snap.sets[name] ?? { members: [], version: 0 };
}

/**
 * Builds a whole `RolloutStore` over a driver. Use `DriverStore` instead to keep a class of your
 * own (`class AcmeStore extends DriverStore`).
 */
export function createRolloutStore(driver: RolloutDriver, options: RolloutStoreOptions): RolloutStore {
  return new DriverStore(driver, options);
}
