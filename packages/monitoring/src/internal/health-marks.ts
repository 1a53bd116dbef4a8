import { type CanaryRolloutService, ConflictError, withHealthMark } from '@canary-rollout/core';
import type { Judged } from './judged';

/**
 * Keeps `unhealthySince`/`healthySince` on the records of features guarded by minStableTime, so a
 * raise waits until the feature has run healthy that long. Compare-and-set on the version judged:
 * a record changed meanwhile is judged again next tick. Features rolled back in this tick, at 0 %
 * or without minStableTime are left alone.
 */
export async function markHealth(
  rollout: CanaryRolloutService,
  judged: ReadonlyMap<string, Judged>,
  skip: ReadonlySet<string>,
  now: number,
  fault: (error: unknown, during: string) => void,
): Promise<void> {
  const { features, thresholds } = rollout.config.canaryRollout;
  let wrote = false;
  for (const [name, { record, verdict }] of judged) {
    if (skip.has(name) || record.rolloutPercentage === 0) continue;
    if ((features[name]?.minStableTime ?? thresholds.minStableTime) === undefined) continue;
    const next = withHealthMark(record, verdict.level === 'healthy', now);
    if (next === null) continue;
    try {
      await rollout.store.putFeature(next, record.version);
      wrote = true;
    } catch (error) {
      if (!(error instanceof ConflictError)) fault(error, `mark the health of "${name}"`);
    }
  }
  if (wrote) await rollout.refresh();
}
