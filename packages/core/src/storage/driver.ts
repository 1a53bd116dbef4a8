import type { MetricBucket } from '../schemas/records';
import type { MetricBatch, MetricsReadOptions, StoreChange } from './types';

/**
 * Keyed collections a driver holds. Values are JSON documents the driver stores as given and
 * never interprets; core validates what it reads back.
 * - `features`: feature name to feature record
 * - `users`: user id to beta user
 * - `emails`: `emailKey(email)` (a hash, never the address) to user id, for uniqueness
 * - `feedback`: feedback id to feedback entry
 * - `meta`: the monitor's incident claims and health marks, keyed by what they mark
 */
export type DriverCollection = 'features' | 'users' | 'emails' | 'feedback' | 'meta';

/** Every collection, in a fixed order. */
export const DRIVER_COLLECTIONS: readonly DriverCollection[] = [
  'features',
  'users',
  'emails',
  'feedback',
  'meta',
];

/**
 * Append-only logs, each bounded by the `retain` of its appends. `rollbacks` holds rollback
 * records; the others are the store's log kinds.
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
  readonly members: readonly string[];
  /** 0 for a set never written; +1 on every commit that changes it; never goes back. */
  readonly version: number;
}

/** What one consistent `read` returns. */
export interface DriverReadRequest {
  /** Whole collections to read. */
  readonly collections?: readonly DriverCollection[];
  /** Sets to read by name. */
  readonly sets?: readonly DriverSetName[];
  /** Every set whose name starts with one of these (`'beta:'` reads every beta list). */
  readonly setPrefixes?: readonly string[];
}

/** A consistent view: everything in it was current at one moment. */
export interface DriverSnapshot {
  /** The store version: +1 on every successful commit that has operations. */
  readonly version: number;
  readonly collections: Readonly<Partial<Record<DriverCollection, readonly DriverEntry[]>>>;
  /** Sets asked for; one asked for by name and never written is present with version 0. */
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

/** One change of a commit. */
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

/** An all-or-nothing change: every expectation holds and every operation applies, or nothing does. */
export interface DriverCommit {
  readonly expect?: readonly DriverExpectation[];
  readonly operations: readonly DriverOperation[];
}

/** What a commit did. */
export type DriverCommitResult =
  | {
      readonly committed: true;
      /** The store version after the commit. */
      readonly version: number;
    }
  | {
      readonly committed: false;
      /** The expectations that did not hold, with the version found (`null`: no such entry). */
      readonly conflicts: readonly (DriverExpectation & { readonly found: number | null })[];
    };

/** What `readLog` returns. */
export interface DriverLogQuery {
  /** Only entries appended with `at >= since`. */
  readonly since?: number;
  /** At most this many, the newest. A driver reads only these, not the whole log. */
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
 * - Other handles hear of every commit through `subscribe` (the change names the new version).
 */
export interface RolloutDriver {
  /** Connects, creates or migrates what is needed. Idempotent. */
  open(): Promise<void>;
  /** Releases connections, watchers and timers. Idempotent. */
  close(): Promise<void>;
  /** One consistent read of whole collections and sets. */
  read(request: DriverReadRequest): Promise<DriverSnapshot>;
  /** Entries by key, in the order asked (`undefined` where absent). */
  get(collection: DriverCollection, keys: readonly string[]): Promise<readonly (DriverEntry | undefined)[]>;
  /** Applies a conditional, all-or-nothing change. */
  commit(commit: DriverCommit): Promise<DriverCommitResult>;
  /** Log entries, oldest first, reading only what the query selects. */
  readLog(log: DriverLog, query?: DriverLogQuery): Promise<readonly unknown[]>;
  /** As `RolloutStore.addMetrics`: counts summed (saturating), registers maxed, exactly once by batch. */
  addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void>;
  /** As `RolloutStore.readMetrics`. */
  readMetrics(
    since: number,
    features?: readonly string[],
    options?: MetricsReadOptions,
  ): Promise<MetricBucket[]>;
  /** Calls `listener` after commits made through other handles. Returns unsubscribe. */
  subscribe(listener: (change: StoreChange) => void): () => void;
}
