import { BUCKETS, bucketFromPrefix } from '../bucketing';
import { peerPosition, peerRangeIndex } from '../bucketing/modes';
import type { CompiledFeature } from './snapshot';

/** Whether the user's bucket falls inside the feature's own percentage. */
export function inRollout(f: CompiledFeature, userId: string): boolean {
  if (f.threshold === 0) return false;
  if (f.threshold >= BUCKETS) return true;
  // GrowthBook with variants: in the rollout when the hash falls in a variant's bucket range.
  if (f.peer?.ranges != null) return peerRangeIndex(f.peer, userId) >= 0;
  return positionOf(f, userId) < f.threshold;
}

/**
 * The user's bucket 0..9999 in the feature's bucketing: in the rollout exactly when below the
 * threshold. Ours unless the feature names another tool's algorithm.
 */
export function positionOf(f: CompiledFeature, userId: string): number {
  return f.peer === null ? bucketFromPrefix(f.prefix, userId) : peerPosition(f.peer, userId);
}
