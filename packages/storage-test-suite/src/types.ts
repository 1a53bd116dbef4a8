import type { RolloutStore } from '@canary-rollout/core';

/** What `corrupt` must damage: the stored feature records or the stored user records. */
export type CorruptionTarget = 'features' | 'users';

/** One fresh store under test, made by a `StoreHarnessFactory` for every test. */
export interface StoreHarness {
  /** A store on fresh, empty data, not yet opened: the suite opens and closes it. */
  readonly store: RolloutStore;
  /**
   * Makes another unopened handle on the same data, as another process would hold it. Called at
   * most once per test; the suite opens and closes the handle.
   */
  readonly peer: () => Promise<RolloutStore>;
  /**
   * Writes invalid data for `target` in the store's native format (a broken JSON file, a garbage
   * hash field, a row with a wrong type). Damage the records already stored where you can, keeping
   * their personal data in place: the suite checks that the resulting errors do not echo it.
   */
  readonly corrupt: (target: CorruptionTarget) => Promise<void>;
  /**
   * Everything the store keeps at rest, as bytes: every file it wrote (database, `-wal`, `-shm`,
   * backups, journals, temporary files) or every key and value on the server. The erasure test
   * searches it for a removed user's personal data; without it that test is skipped.
   */
  readonly atRest?: () => Promise<Uint8Array>;
  /**
   * Loses every feature, beta list and blacklisted id in the store's native way, as a wipe would
   * (Redis `FLUSHALL`, a deleted `rollout-config.json`, rows deleted by another connection), while
   * handles stay open. With it the suite checks that a rollout service over the store keeps serving
   * its last good snapshot, reports the loss and restores the store.
   */
  readonly wipe?: () => Promise<void>;
  /** Removes what the harness made (temp folders, keys, databases), after the handles are closed. */
  readonly cleanup?: () => Promise<void>;
}

/** Makes a fresh `StoreHarness`; called before every test. */
export type StoreHarnessFactory = () => Promise<StoreHarness>;

/** Tuning for stores that are slower than memory. */
export interface ConformanceOptions {
  /**
   * How long a change written through the peer may take to reach a subscriber of the store (ms).
   * @default 5000
   */
  readonly changeTimeoutMs?: number;
  /**
   * Runs of each round-trip property test.
   * @default 25
   */
  readonly propertyRuns?: number;
}
