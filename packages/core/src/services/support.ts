import {
  type CanaryRolloutError,
  InvalidArgumentError,
  isCanaryRolloutError,
  StoreUnavailableError,
} from '../errors';
import type { Snapshot } from '../evaluation/snapshot';
import { show } from '../internal/args';
import type { FeatureRecord } from '../schemas/records';
import type { RolloutChange } from './types';

/** The part of a feature that `rollout-changed` reports. */
export function pickRollout(
  record: FeatureRecord,
): Pick<FeatureRecord, 'enabled' | 'rolloutPercentage' | 'rolloutStrategy'> {
  return {
    enabled: record.enabled,
    rolloutPercentage: record.rolloutPercentage,
    rolloutStrategy: record.rolloutStrategy,
  };
}

/** An option that must be a positive number, or its default. */
export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0)) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: option ${name} must be a positive number, got ${show(value)}`,
    );
  }
  return value;
}

/** A store failure as a canary-rollout error, keeping the original as `cause`. */
export function asStoreError(error: unknown, during: string): CanaryRolloutError {
  if (isCanaryRolloutError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`@canary-rollout/core: store failed during ${during}: ${message}`, {
    cause: error,
  });
}

/** Features whose switch, percentage or strategy differ between two snapshots. */
export function rolloutChanges(
  previous: Snapshot,
  next: Snapshot,
  source: 'local' | 'store',
): RolloutChange[] {
  const changes: RolloutChange[] = [];
  for (const [name, f] of next.features) {
    const before = previous.features.get(name)?.record;
    const after = f.record;
    if (
      before === undefined ||
      before.enabled !== after.enabled ||
      before.rolloutPercentage !== after.rolloutPercentage ||
      before.rolloutStrategy !== after.rolloutStrategy
    ) {
      changes.push({
        feature: name,
        previous: before === undefined ? null : pickRollout(before),
        current: pickRollout(after),
        source,
      });
    }
  }
  return changes;
}
