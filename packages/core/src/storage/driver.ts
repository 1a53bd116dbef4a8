import type { MetricBucket } from '../schemas/records';
import type { MetricBatch, MetricsReadOptions, StoreChange } from './types';

/**
 * Keyed collections a driver holds. Values are JSON documents the driver stores as given and
 * never interprets; core validates what it reads back. A driver stores every collection the same
 * way, with the name as data (a column, a key part, a folder), so a collection added later needs
 * no driver change; it must not list these names.
 * - `features`: feature name to feature record
 * - `users`: user id to beta user
 * - `emails`: `emailKey(email)` (a hash, never the address) to user id, for uniqueness
 * - `feedback`: a time-ordered key to a feedback entry
 * - `meta`: compare-and-set records of the monitor (incident claims, health marks)
 * - `segments`: segment name to a named list of targeting constraints
 */
export type DriverCollection = 'features' | 'users' | 'emails' | 'feedback' | 'meta' | 'segments';

/** Every collection core uses, in a fixed order (for tests and tools; drivers need not list them). */
export const DRIVER_COLLECTIONS: readonly DriverCollection[] = [
  'features',
  'users',
  'emails',
  'feedback',
  'meta',
  'segments',
];

/**
 * Append-only logs, each bounded by the `retain` of its appends. `rollbacks` holds rollback
 * records; the others are the store's log kinds. Like collections, a driver stores every log
 * the same way, with the name as data.
 */
export type DriverLog = 'alerts' | 'health-reports' | 'audit' | 'rollbacks';

/** Every log, in a fixed order. */
export const DRIVER_LOGS: readonly DriverLog[] = ['alerts', 'health-reports', 'audit', 'rollbacks'];

/**
 * Names of string sets: `blacklist`, and `beta:<feature>` for a feature's beta list. A set's
 * members are user ids.
 */
export type DriverSetName = 'blacklist' | `beta:${string}`;

/** One stored entry of a collection. */
export interface DriverEntry {
  readonly key: string;
  readonly value: unknown;
  /** 1 when first put, +1 on each later put; a deleted and re-created entry starts again at 1. */
  readonly version: number;
}

/** One stored set. */
export interface DriverSet {
  /** In no particular order, each once. */
  readonly members: readonly string[];
  /**
   * 0 for a set never written; +1 on every commit with an operation on the set (even one that
   * leaves its members as they were); never goes back, not even when the set is cleared.
   */
  readonly version: number;
}

/** What one consistent `read` returns. */
export interface DriverReadRequest {
  /** The store operation reading, for the driver's messages (`'readState'`). */
  readonly operation?: string;
  /** Whole collections to read. */
  readonly collections?: readonly DriverCollection[];
  /**
   * Entries to read by key, per collection: the snapshot's `collections` then holds those of
   * them that exist (a collection also asked for whole comes whole). Lets a write read the one
   * entry it changes together with sets, in one consistent read.
   */
  readonly entries?: Readonly<Partial<Record<DriverCollection, readonly string[]>>>;
  /** Sets to read by name. */
  readonly sets?: readonly DriverSetName[];
  /** Every set whose name starts with one of these (`'beta:'` reads every beta list). */
  readonly setPrefixes?: readonly string[];
}

/** A consistent view: everything in it was current at one moment. */
export interface DriverSnapshot {
  /**
   * The store version: +1 on every successful commit with an operation on an entry or a set; a
   * commit of log appends alone leaves it as it is.
   */
  readonly version: number;
  /**
   * Each collection asked for, whole or by key (see `entries`), its entries in no particular
   * order (core sorts what it shows).
   */
  readonly collections: Readonly<Partial<Record<DriverCollection, readonly DriverEntry[]>>>;
  /**
   * Sets asked for: one asked for by name is always present (version 0 and no members when
   * never written); by prefix, every set ever written whose name starts with it.
   */
  readonly sets: Readonly<Record<string, DriverSet>>;
}

/** A condition of a commit: the entry or set is at this version when the commit applies. */
export type DriverExpectation =
  | {
      readonly collection: DriverCollection;
      readonly key: string;
      /** `null`: the entry must not exist. */
      readonly version: number | null;
    }
  | { readonly set: DriverSetName; readonly version: number };

/**
 * One change of a commit. `put` creates or replaces an entry (its version +1); `delete` of an
 * absent entry and `set-remove` of an absent member change nothing but are allowed.
 */
export type DriverOperation =
  | {
      readonly op: 'put';
      readonly collection: DriverCollection;
      readonly key: string;
      readonly value: unknown;
    }
  | { readonly op: 'delete'; readonly collection: DriverCollection; readonly key: string }
  | { readonly op: 'set-add'; readonly set: DriverSetName; readonly members: readonly string[] }
  | { readonly op: 'set-remove'; readonly set: DriverSetName; readonly members: readonly string[] }
  | { readonly op: 'set-clear'; readonly set: DriverSetName }
  | {
      readonly op: 'append';
      readonly log: DriverLog;
      /** The entry's time (epoch ms), which `readLog`'s `since` compares with. */
      readonly at: number;
      readonly entry: unknown;
      /** Keep at most this many entries of the log, the newest. */
      readonly retain: number;
    };

/**
 * An all-or-nothing change: every expectation holds and every operation applies, in order, or
 * nothing does. A commit without operations only checks its expectations.
 */
export interface DriverCommit {
  /** The store operation committing, for the driver's messages (`'putFeature'`). */
  readonly operation?: string;
  /**
   * Leaves the store version as it is and tells no other handle: for writes no snapshot is
   * built from (feedback, the monitor's records). Entry and set versions still bump.
   */
  readonly quiet?: boolean;
  readonly expect?: readonly DriverExpectation[];
  readonly operations: readonly DriverOperation[];
  /**
   * Asks for `setChanges` in the result, so core need not read a whole set to learn whether a
   * member was in it. A driver that does not report ignores it (core then reads the set first).
   */
  readonly reportSetChanges?: boolean;
}

/** What a commit did. */
export type DriverCommitResult =
  | {
      readonly committed: true;
      /** The store version after the commit. */
      readonly version: number;
      /**
       * Given when the commit asked (`reportSetChanges`): one entry per `set-add` and
       * `set-remove` operation, in their order, true when it changed the set: an add that put in
       * a member the set did not hold (Redis `SADD`'s count, an insert that did not conflict), a
       * remove that took one out. Each is judged against the set as the operations before it in
       * the commit left it, at the moment the commit applied: two adds of one member in one
       * commit report true then false, and of two handles adding one member at once, one hears
       * true.
       */
      readonly setChanges?: readonly boolean[];
    }
  | {
      readonly committed: false;
      /** The expectations that did not hold, with the version found (`null`: no such entry). */
      readonly conflicts: readonly (DriverExpectation & { readonly found: number | null })[];
    };

/**
 * What `readLog` selects: of the log in append order, the entries with `at >= since`, and of
 * those the newest `limit`. Entries are appended in time order (give or take the clock skew of
 * processes), so a driver may read back from the newest and stop at the first entry older than
 * `since`; it reads only what it returns (Redis `LRANGE -limit -1`), never the whole log.
 */
export interface DriverLogQuery {
  /** The store operation reading, for the driver's messages (`'listLogs'`). */
  readonly operation?: string;
  /** Only entries appended with `at >= since`. */
  readonly since?: number;
  /** At most this many, the newest. */
  readonly limit?: number;
}

/**
 * The storage primitives a store author writes. `createRolloutStore(driver)` in core builds the
 * whole `RolloutStore` (its rules, validation and messages) on top of them, and
 * `@canary-rollout/storage-test-suite` checks both layers.
 *
 * Guarantees every driver gives:
 * - `read` is consistent: one moment's collections, sets and version, across processes.
 * - `commit` is atomic and conditional, across processes: all of it or none of it; versions bump.
 * - `addMetrics` is atomic per call and exactly once per batch id.
 * - Values come back as they were put (JSON round trip); a value that cannot be decoded is
 *   reported with `StoreDataCorruptedError` naming where, never quoting the stored text.
 * - No personal data in keys, channels or messages the driver makes; deletes leave nothing behind.
 * - Other handles hear of every commit that bumps the version through `subscribe` (the change
 *   names the new version).
 */
export interface RolloutDriver {
  /** Connects, creates or migrates what is needed. Idempotent. */
  open(): Promise<void>;
  /** Releases connections, watchers and timers. Idempotent. */
  close(): Promise<void>;
  /** One consistent read of whole collections and sets. */
  read(request: DriverReadRequest): Promise<DriverSnapshot>;
  /** Entries by key, in the order asked (`undefined` where absent); one consistent read. */
  get(
    collection: DriverCollection,
    keys: readonly string[],
    /** The store operation reading, for the driver's messages. */
    operation?: string,
  ): Promise<readonly (DriverEntry | undefined)[]>;
  /**
   * Applies a conditional, all-or-nothing change. A failed expectation is a result, not an
   * error; errors are for a store that cannot answer (`StoreUnavailableError`).
   */
  commit(commit: DriverCommit): Promise<DriverCommitResult>;
  /** Log entries, oldest first, reading only what the query selects. */
  readLog(log: DriverLog, query?: DriverLogQuery): Promise<readonly unknown[]>;
  /**
   * `'json'` for a driver that sends its metric deltas as JSON text: core then passes
   * `addMetrics` that text too, written in the pass that checks the deltas (checking, then
   * `JSON.stringify`, would enumerate every bin and register twice).
   */
  readonly metricsEncoding?: 'json';
  /**
   * As `RolloutStore.addMetrics`, on deltas core already validated: counts summed (saturating,
   * see `mergeMetricBucket`), registers maxed, atomic per call, exactly once by batch. With
   * `metricsEncoding: 'json'`, `json` is usually given: the deltas as a JSON array of their
   * schema's fields (what `metricBucketsJson` writes); without it the driver encodes them itself.
   */
  addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch, json?: string): Promise<void>;
  /**
   * As `RolloutStore.readMetrics`. Core passes these through (it is the monitor's hot read), so a
   * driver that decodes stored buckets validates them (`parseStored` with `metricBucketSchema`).
   */
  readMetrics(
    since: number,
    features?: readonly string[],
    options?: MetricsReadOptions,
  ): Promise<MetricBucket[]>;
  /**
   * Calls `listener` after commits made through other handles that bumped the store version,
   * with the new version (it may also report this handle's own, and need not report commits of
   * log appends alone). Works as soon as `open()` resolves. Returns unsubscribe.
   */
  subscribe(listener: (change: StoreChange) => void): () => void;
}
