import type { Clock } from '../clock';
import type { CanaryRolloutError } from '../errors';
import { asStoreError } from '../errors/store-errors';
import { compileSnapshot, type Snapshot } from '../evaluation/snapshot';
import type { SafeEventEmitter } from '../events';
import type { CanaryConfig } from '../schemas/config';
import type { FeatureRecord } from '../schemas/records';
import type { MetaRecord, RolloutState, RolloutStore } from '../storage/types';
import { rolloutChanges } from './rollout-changes';
import { configState, seedFeatures } from './seeding';
import { lostFeatures, restoreState, type StateLoss, stateLostError } from './state-recovery';
import { segmentsFor } from './targeting';
import type { CanaryRolloutEvents } from './types';

/** What keeping the snapshot in sync needs from the service. */
export interface SnapshotSyncOptions {
  readonly store: RolloutStore;
  readonly config: CanaryConfig;
  readonly clock: Clock;
  readonly events: SafeEventEmitter<CanaryRolloutEvents>;
  /** Served when the store cannot be read at start. */
  readonly initialState: RolloutState | undefined;
  readonly refreshIntervalMs: number;
  readonly reportError: (error: CanaryRolloutError) => void;
  /** Sees every snapshot applied, before `change` and `rollout-changed` are emitted. */
  readonly onSnapshot: (snapshot: Snapshot) => void;
  /** The health marks this process knows, put back with the features after a state loss. */
  readonly healthMarks: () => readonly MetaRecord[];
}

/**
 * Keeps the in-memory snapshot in step with the store: opens and seeds it, loads the state,
 * follows change notifications and a periodic re-read, and treats a read that lost features
 * this process knew as a fault (keeps serving, reports, restores) rather than news.
 */
export class SnapshotSync {
  private current: Snapshot;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private stopped = false;
  /** Start served `initialState` because the store failed: open and seed on the next refresh. */
  private needsSeed = false;
  /** Whether the snapshot has come from the store at least once. */
  private loaded = false;
  private loss: StateLoss | undefined;

  constructor(private readonly options: SnapshotSyncOptions) {
    const { config, clock } = options;
    // Until the store is read, evaluation answers from the config file alone.
    this.current = compileSnapshot(
      options.initialState ?? configState(config.canaryRollout.features, clock.now()),
      config.canaryRollout.enabled,
      config.canaryRollout.features,
      segmentsFor(config, options.initialState),
    );
  }

  /** The snapshot evaluation answers from. */
  get snapshot(): Snapshot {
    return this.current;
  }

  /** A feature as the snapshot has it. */
  feature(name: string): FeatureRecord | undefined {
    return this.current.features.get(name)?.record;
  }

  /** Opens and seeds the store and loads the state. Throws what the store threw. */
  async load(): Promise<void> {
    await this.open();
    this.apply(await this.options.store.readState(), 'store');
  }

  /** After a failed `load` with an initial state served: open and seed on the next refresh. */
  deferLoad(): void {
    this.needsSeed = true;
  }

  /** Follows the store's change notifications and re-reads it every `refreshIntervalMs`. */
  follow(): void {
    this.stopped = false;
    this.unsubscribe ??= this.options.store.subscribe(() => void this.refresh());
    this.timer ??= setInterval(() => void this.refresh(), this.options.refreshIntervalMs).unref();
  }

  /** Stops following the store. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Re-reads features, beta lists and blacklist from the store. Store faults are reported as events. */
  refresh(): Promise<void> {
    if (this.refreshing !== undefined) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          if (this.needsSeed) {
            await this.open();
            this.needsSeed = false;
          }
          const state = await this.options.store.readState();
          if (!(await this.recoverLoss(state))) this.apply(state, 'store');
        } catch (error) {
          this.options.reportError(asStoreError(error, 'refresh'));
        }
      } while (this.refreshAgain && !this.stopped);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** The last state loss found (see `CanaryRolloutService.stateLoss`), or undefined. */
  stateLoss(): StateLoss | undefined {
    return this.loss;
  }

  private async open(): Promise<void> {
    const { store, config, clock } = this.options;
    await store.open();
    await seedFeatures(store, config.canaryRollout.features, clock.now());
  }

  /**
   * When `state` lacks features of the last good snapshot: reports it once (`STORE_DATA_LOST`),
   * keeps serving the snapshot, and restores the store from it and the config. True when `state`
   * must not be applied.
   */
  private async recoverLoss(state: RolloutState): Promise<boolean> {
    if (!this.loaded) return false;
    const { store, config, clock, reportError } = this.options;
    const lost = lostFeatures(this.current, state);
    if (lost.length === 0) {
      // Restored meanwhile, by another process.
      if (this.loss !== undefined && this.loss.restoredAt === undefined)
        this.loss = { ...this.loss, restoredAt: clock.now() };
      return false;
    }
    if (this.loss === undefined || this.loss.restoredAt !== undefined) {
      this.loss = { count: (this.loss?.count ?? 0) + 1, at: clock.now(), features: lost };
      reportError(stateLostError(lost, this.current, state));
    }
    const known = this.current;
    try {
      const restored = await restoreState(
        store,
        known,
        config.canaryRollout.features,
        clock.now(),
        this.options.healthMarks(),
      );
      this.loss = { ...this.loss, restoredAt: clock.now(), restored };
    } catch (error) {
      reportError(asStoreError(error, 'restore the lost state'));
      return true;
    }
    const after = await store.readState();
    if (lostFeatures(known, after).length === 0) this.apply(after, 'store');
    return true;
  }

  private apply(state: RolloutState, source: 'local' | 'store'): void {
    const { config, events, onSnapshot } = this.options;
    const previous = this.current;
    const next = compileSnapshot(
      state,
      config.canaryRollout.enabled,
      config.canaryRollout.features,
      segmentsFor(config, state),
    );
    this.current = next;
    onSnapshot(next);
    if (this.loaded && previous.version === next.version) return;
    this.loaded = true;
    events.emit('change', next.version);
    for (const change of rolloutChanges(previous, next, source)) events.emit('rollout-changed', change);
  }
}
