import { ConflictError } from '../errors';
import type { CanaryConfig } from '../schemas/config';
import type { FeatureWrite } from '../schemas/records';
import type { RolloutState, RolloutStore } from '../storage/types';
import { initialPlanState } from './plans';

type Features = CanaryConfig['canaryRollout']['features'];

/**
 * A feature as the config file creates it. A feature with a plan starts at the plan's first
 * step, with the plan running.
 */
export function featureFromConfig(name: string, settings: Features[string], now: number): FeatureWrite {
  const first = settings.plan?.steps[0];
  return {
    name,
    enabled: settings.enabled,
    rolloutPercentage: first?.percentage ?? settings.rolloutPercentage,
    rolloutStrategy: settings.rolloutStrategy,
    salt: settings.salt ?? name,
    updatedAt: now,
    stageStartedAt: now,
    // Created as version 1.
    stageVersion: 1,
    ...(first === undefined ? {} : { plan: initialPlanState(now) }),
    ...(settings.bucketing === undefined ? {} : { bucketing: settings.bucketing }),
    ...(settings.rules === undefined ? {} : { rules: settings.rules }),
    ...(settings.prerequisites === undefined ? {} : { prerequisites: settings.prerequisites }),
  };
}

/** The state the config file alone describes: what evaluation serves until the store is read. */
export function configState(features: Features, now: number): RolloutState {
  return {
    version: 0,
    features: Object.entries(features).map(([name, settings]) => ({
      ...featureFromConfig(name, settings, now),
      version: 1,
    })),
    beta: Object.create(null),
    blacklist: [],
  };
}

/** Adds the config's features the store lacks; features already stored keep their live state. */
export async function seedFeatures(store: RolloutStore, features: Features, now: number): Promise<void> {
  const state = await store.readState();
  const stored = new Set(state.features.map((f) => f.name));
  for (const [name, settings] of Object.entries(features)) {
    if (stored.has(name)) continue;
    try {
      await store.putFeature(featureFromConfig(name, settings, now), null);
    } catch (error) {
      // Another process seeded it first; its record stands.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}
