import type { RolloutDriver } from '@canary-rollout/core/store-kit';

/** One fresh driver under test, made by a `DriverHarnessFactory` for every test. */
export interface DriverHarness {
  /** A driver on fresh, empty data, not yet opened: the suite opens and closes it. */
  readonly driver: RolloutDriver;
  /**
   * Makes another unopened handle on the same data, as another process would hold it (a second
   * connection, a second file handle). The suite opens and closes it.
   */
  readonly peer: () => Promise<RolloutDriver>;
  /**
   * How many log entries the driver has fetched from where it keeps them since the harness was
   * made (a counter: the suite compares two readings). With it the suite checks that `readLog`
   * reads only what it returns; without it that test is skipped.
   */
  readonly logEntriesRead?: () => Promise<number>;
  /** Removes what the harness made, after the handles are closed. */
  readonly cleanup?: () => Promise<void>;
}

/** Makes a fresh `DriverHarness`; called before every test. */
export type DriverHarnessFactory = () => Promise<DriverHarness>;

/** Tuning for drivers slower than memory. */
export interface DriverConformanceOptions {
  /** How long a commit through the peer may take to reach a subscriber of the driver (ms). @default 5000 */
  readonly changeTimeoutMs?: number;
  /** Rounds of each race between the two handles. @default 10 */
  readonly raceRounds?: number;
  /**
   * Whether commits asked to (`reportSetChanges`) report what each set add or remove changed.
   * A driver that does not still works under `DriverStore` (it reads sets instead); `false`
   * skips the checks of the report. @default true
   */
  readonly reportsSetChanges?: boolean;
}
