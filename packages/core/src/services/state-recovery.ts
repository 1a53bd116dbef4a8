import { ConflictError, StoreDataLostError } from '../errors';
import type { Snapshot } from '../evaluation/snapshot';
import type { CanaryConfig } from '../schemas/config';
import type { FeatureRecord, FeatureWrite } from '../schemas/records';
import type { MetaRecord, RolloutState, RolloutStore } from '../storage/types';
import { healthMarkKey } from '../thresholds/stability';
import { featureFromConfig } from './seeding';

type Features = CanaryConfig['canaryRollout']['features'];

/** The last time this service found the store had lost state, and what became of it. */
export interface StateLoss {
  /** How many losses this service has found since it was made (increases with each). */
  readonly count: number;
  /** When the loss was found (epoch ms of the service's clock). */
  readonly at: number;
  /** The features this process knew that the store no longer held. */
  readonly features: readonly string[];
  /** When the store was restored; absent while the restore has not succeeded. */
  readonly restoredAt?: number;
  /** What the restore wrote back, once it succeeded. */
  readonly restored?: RestoredState;
}

/** What a restore wrote back to the store. */
export interface RestoredState {
  /** Features recreated from the last snapshot (as they were last read). */
  readonly fromSnapshot: readonly string[];
  /** Features recreated from the config (declared there, in neither the store nor the snapshot). */
  readonly fromConfig: readonly string[];
  /** Beta list members put back. */
  readonly betaMembers: number;
  /** Blacklisted user ids put back. */
  readonly blacklisted: number;
  /** Health marks (minStableTime) put back, of the features recreated from the snapshot. */
  readonly healthMarks: number;
}

/**
 * The features of `known` (the last snapshot read from the store) that `state` lacks. Features
 * are never deleted through the SDK, so a feature that vanishes is a store that lost its data.
 */
export function lostFeatures(known: Snapshot, state: RolloutState): string[] {
  const present = new Set(state.features.map((f) => f.name));
  const lost: string[] = [];
  for (const name of known.features.keys()) if (!present.has(name)) lost.push(name);
  return lost;
}

/** The error a state loss is reported with. Names features only (never users). */
export function stateLostError(
  lost: readonly string[],
  known: Snapshot,
  state: RolloutState,
): StoreDataLostError {
  const shown =
    lost.length > 10 ? `${lost.slice(0, 10).join(', ')} and ${lost.length - 10} more` : lost.join(', ');
  return new StoreDataLostError(
    `@canary-rollout/core: the store lost ${lost.length} of the ${known.features.size} features this process knew (${shown}; state version ${known.version} -> ${state.version}): serving the last good snapshot and restoring the store from it and the config`,
    lost,
  );
}

/**
 * Writes back what the store lost, from the last good snapshot and the config:
 * - each lost feature as it was last read (switch, percentage, strategy, salt, stage start, last
 *   rollback, plan progress, unknown fields), and its health mark as this process last knew it
 *   (`healthMarks`, meta records), where the store holds none;
 * - features the config declares that neither the store nor the snapshot holds, as seeded;
 * - the beta lists of the features written back, every member of the snapshot's list;
 * - the snapshot's blacklisted ids the store no longer holds.
 * Not restored (a snapshot does not hold them): registered users' details, feedback, alert and
 * health-report logs, rollback records, incident markers, metrics. Another process restoring at the same time
 * wins a feature's compare-and-set; its record stands.
 */
export async function restoreState(
  store: RolloutStore,
  known: Snapshot,
  config: Features,
  now: number,
  healthMarks: readonly MetaRecord[],
): Promise<RestoredState> {
  const state = await store.readState();
  const present = new Set(state.features.map((f) => f.name));
  const fromSnapshot: string[] = [];
  const fromConfig: string[] = [];
  const written: string[] = [];
  const put = async (write: FeatureWrite): Promise<boolean> => {
    try {
      await store.putFeature(write, null);
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  };
  for (const [name, compiled] of known.features) {
    if (present.has(name)) continue;
    if (await put(withoutVersion(compiled.record))) fromSnapshot.push(name);
    written.push(name);
  }
  for (const [name, settings] of Object.entries(config)) {
    if (present.has(name) || known.features.has(name)) continue;
    if (await put(featureFromConfig(name, settings, now))) fromConfig.push(name);
  }
  let betaMembers = 0;
  for (const name of written) {
    for (const userId of known.features.get(name)?.beta ?? []) {
      if (await store.addBetaMember(name, userId)) betaMembers++;
    }
  }
  // A mark names the stage it was written in, which the restored record keeps: it counts again.
  const marks = new Map(healthMarks.map((m) => [m.key, m]));
  let restoredMarks = 0;
  for (const name of written) {
    const mark = marks.get(healthMarkKey(name));
    if (mark === undefined) continue;
    try {
      await store.putMeta(mark.key, mark.value, null);
      restoredMarks++;
    } catch (error) {
      // Another process put one back, or a monitor marked the feature afresh: it stands.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  let blacklisted = 0;
  const stillListed = new Set(state.blacklist);
  for (const userId of known.blacklist) {
    if (!stillListed.has(userId) && (await store.addToBlacklist(userId))) blacklisted++;
  }
  return { fromSnapshot, fromConfig, betaMembers, blacklisted, healthMarks: restoredMarks };
}

function withoutVersion(record: FeatureRecord): FeatureWrite {
  const { version: _version, ...write } = record;
  return write;
}
