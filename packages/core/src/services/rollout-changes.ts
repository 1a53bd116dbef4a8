import type { Snapshot } from '../evaluation/snapshot';
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
