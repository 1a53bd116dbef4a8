import type {
  BetaUser,
  FeatureRecord,
  FeatureWrite,
  Feedback,
  LogEntry,
  LogKind,
  MetricBucket,
  RollbackRecord,
} from '../schemas/records';
import type { Segment } from '../schemas/targeting';

/** A meta record a write depends on, at the version it was read (`null`: there was none). */
export interface MetaExpectation {
  readonly key: string;
  readonly version: number | null;
}

/** Options of `RolloutStore.putFeature`. */
export interface PutFeatureOptions {
  /**
   * Meta records that must still be as read when the feature is written, checked in the same
   * conditional write: a raise the health mark allowed fails with `ConflictError` when a monitor
   * rewrote the mark meanwhile, instead of going through on a verdict that no longer holds.
   */
  readonly expectMeta?: readonly MetaExpectation[];
}

/** Everything evaluation needs, read in one go. */
export interface RolloutState {
  /** Increases whenever features, beta lists or the blacklist change; compare to skip re-reads. */
  readonly version: number;
  readonly features: readonly FeatureRecord[];
  /** Feature name to the user ids in its beta list. Features with no members may be absent. */
  readonly beta: Readonly<Record<string, readonly string[]>>;
  /** User ids excluded from every rollout. */
  readonly blacklist: readonly string[];
  /**
   * Segment name to its constraints, for the rules that name it (an object without prototype).
   * Absent from stores that keep none; segments of the config file apply besides.
   */
  readonly segments?: Readonly<Record<string, Segment>>;
}

/** What `rollback` is asked to do. */
export interface RollbackRequest {
  readonly reason: string;
  readonly source: 'manual' | 'automatic';
  /** Time of the rollback (epoch ms). */
  readonly at: number;
  /** Only roll back if the feature is still at this version (a monitor passes what it judged). */
  readonly expectedVersion?: number;
  readonly figures?: Readonly<Record<string, number>>;
}

/** What `rollback` did. `performed: false` when another caller got there first or nothing was on. */
export interface RollbackResult {
  readonly performed: boolean;
  /** The feature after the call. */
  readonly feature: FeatureRecord;
  /** The record written, when performed. */
  readonly record?: RollbackRecord;
}

/** Options of `readMetrics`. */
export interface MetricsReadOptions {
  /** Whether the distinct-user registers are needed. @default true */
  readonly users?: boolean;
}

/**
 * Identity of one `addMetrics` batch: its writer (one per service instance) and the writer's
 * sequence number, increasing by batch. A writer sends a batch again, unchanged and under the
 * same number, when it does not know whether the first attempt was applied.
 */
export interface MetricBatch {
  /** Id of the writer, unique per process and service (at most 128 characters). */
  readonly writer: string;
  /** Positive safe integer; each new batch of a writer has a higher one. */
  readonly seq: number;
}

/** Filters for reading logs. */
export interface LogQuery {
  /** Only entries with `at >= since`. */
  readonly since?: number;
  /** At most this many, the newest. */
  readonly limit?: number;
}

/**
 * A compare-and-set record of the `meta` collection (a monitor's incident claims and health
 * marks). Keys name what they mark, never a person.
 */
export interface MetaRecord {
  readonly key: string;
  /** A JSON value. */
  readonly value: unknown;
  /** 1 when created, +1 on every put. */
  readonly version: number;
}

/** A change made through another handle (usually another process). */
export interface StoreChange {
  /** The state version after the change, when the store knows it. */
  readonly version?: number;
}

/**
 * The storage contract. Every store implements it and passes `@canary-rollout/storage-test-suite`.
 *
 * Guarantees every implementation gives:
 * - Every read returns validated data. Data that does not parse is reported with
 *   `StoreDataCorruptedError` naming where and what, and is never silently replaced.
 * - Writes are atomic: a reader sees the whole change or none of it, across processes.
 * - `putFeature` is a compare-and-set on the feature's version.
 * - `rollback` is one atomic step; callers racing on one incident produce one rollback record.
 * - User emails are unique case-insensitively; registering an existing email returns that user.
 * - Personal data (emails, names, feedback) is never written into keys, logs or error messages,
 *   nor into the `cause` of an error (parser messages can quote the stored text).
 * - Fields of stored records this version does not know survive a read and a write.
 * - Change notifications work as soon as `open()` resolves; a listener that throws does not stop
 *   the others.
 */
export interface RolloutStore {
  /** Connects, creates or migrates what is needed. Idempotent. */
  open(): Promise<void>;
  /** Releases connections, watchers and timers. Idempotent. */
  close(): Promise<void>;

  /** Features, beta lists and blacklist, with the state version. */
  readState(): Promise<RolloutState>;
  /**
   * Writes one feature if its stored version is `expectedVersion` (`null`: it must not exist yet)
   * and every meta record of `options.expectMeta` is at its version, in one conditional write.
   * Returns the stored record with its new version; throws `ConflictError` otherwise.
   */
  putFeature(
    feature: FeatureWrite,
    expectedVersion: number | null,
    options?: PutFeatureOptions,
  ): Promise<FeatureRecord>;
  /** Deletes a feature and its beta list; false if it did not exist. */
  deleteFeature(name: string): Promise<boolean>;

  /**
   * Registers `user` unless a user with the same email (case-insensitive) exists, in which case
   * that user is returned with `created: false`. Concurrent registrations of one email create one
   * user. A taken id with another email throws `ConflictError`.
   */
  registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }>;
  getUser(id: string): Promise<BetaUser | undefined>;
  getUserByEmail(email: string): Promise<BetaUser | undefined>;
  /** Registered users, oldest first. */
  listUsers(): Promise<BetaUser[]>;
  /** Removes the user, their beta memberships, blacklisting and feedback; false if unknown. */
  removeUser(id: string): Promise<boolean>;

  /** Adds a user id to a feature's beta list; false if it was already there. `NotFoundError` for an unknown feature. */
  addBetaMember(feature: string, userId: string): Promise<boolean>;
  /** Removes a user id from a feature's beta list; false if it was not there (or the feature is unknown). */
  removeBetaMember(feature: string, userId: string): Promise<boolean>;
  /** Adds a user id to the global blacklist; false if it was already there. */
  addToBlacklist(userId: string): Promise<boolean>;
  /** Removes a user id from the blacklist; false if it was not there. */
  removeFromBlacklist(userId: string): Promise<boolean>;

  appendFeedback(entry: Feedback): Promise<void>;
  /** Feedback, oldest first, of one feature or all. */
  listFeedback(feature?: string): Promise<Feedback[]>;

  /**
   * Adds each delta to the stored counters of its (feature, arm, stage, bucketStart): counts and
   * histogram bins are summed (saturating at `Number.MAX_SAFE_INTEGER`), user registers take the
   * maximum. Atomic per call. Exactly once with `batch`: a batch whose `seq` is not above the last
   * one applied for its `writer` was applied before and is skipped (resolves, adds nothing).
   * Deltas that cannot be stored are refused with `InvalidArgumentError` and nothing is applied.
   */
  addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void>;
  /**
   * Merged buckets with `bucketStart >= since`, fleet-wide, sorted by `bucketStart`; with
   * `features`, of those features only (an empty list selects none). With `{ users: false }` the
   * caller does not need distinct users: `users` comes back empty, which is much cheaper to read.
   */
  readMetrics(
    since: number,
    features?: readonly string[],
    options?: MetricsReadOptions,
  ): Promise<MetricBucket[]>;

  /** Appends to a log; retention keeps each log bounded (store option). */
  appendLog(kind: LogKind, entry: LogEntry): Promise<void>;
  /** Log entries, oldest first. */
  listLogs(kind: LogKind, query?: LogQuery): Promise<LogEntry[]>;

  /**
   * In one atomic step: percentage 0 (a `stable` feature becomes `gradual`), beta list cleared,
   * `lastRollbackAt` and version bumped, rollback record appended. Not performed when
   * `expectedVersion` is given and differs, or when the feature is already off for everyone.
   * Throws `NotFoundError` for an unknown feature.
   */
  rollback(feature: string, request: RollbackRequest): Promise<RollbackResult>;
  /** Rollback records, oldest first, of one feature or all. */
  listRollbacks(feature?: string): Promise<RollbackRecord[]>;

  /**
   * Writes a segment (a named constraint list rules use), replacing one of the same name; the
   * state version moves, so every process recompiles the rules that name it.
   */
  putSegment(name: string, segment: Segment): Promise<Segment>;
  /** Deletes a segment; false if there was none. */
  deleteSegment(name: string): Promise<boolean>;

  /** Meta records whose key starts with `prefix` (all without one), sorted by key. */
  readMeta(prefix?: string): Promise<MetaRecord[]>;
  /**
   * Writes a meta record if its stored version is `expectedVersion` (`null`: it must not exist
   * yet); returns it with its new version. `ConflictError` otherwise. `value` must be JSON.
   */
  putMeta(key: string, value: unknown, expectedVersion: number | null): Promise<MetaRecord>;
  /**
   * Deletes a meta record; false if there was none. With `expectedVersion`, only at that version
   * (`ConflictError` when it is at another).
   */
  deleteMeta(key: string, expectedVersion?: number): Promise<boolean>;

  /**
   * Calls `listener` after changes made through other handles (other processes) to features,
   * beta lists, blacklist or users. A store may also report its own changes. Returns unsubscribe.
   */
  subscribe(listener: (change: StoreChange) => void): () => void;
}
