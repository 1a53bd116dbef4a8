import type { FeatureRecord, RollbackRecord } from '../schemas/records';
import { newId } from './ids';
import type { RollbackRequest } from './types';

/** True when nobody can get the feature: not stable, 0 %, empty beta list (or disabled). */
export function isOffForEveryone(feature: FeatureRecord, betaMembers: number): boolean {
  if (!feature.enabled) return true;
  return feature.rolloutStrategy !== 'stable' && feature.rolloutPercentage === 0 && betaMembers === 0;
}

/** Longest rollback reason a record keeps (the schema's limit). */
const MAX_REASON = 1000;

/** What a rollback does to a feature, decided the same way by every store. */
export type RollbackPlan =
  | { readonly performed: false }
  | { readonly performed: true; readonly next: FeatureRecord; readonly record: RollbackRecord };

/**
 * Decides a rollback from the feature as currently stored. The store applies `next` (a full
 * record with the bumped version), clears the beta list and appends `record`, all atomically.
 */
export function planRollback(
  current: FeatureRecord,
  betaMembers: number,
  request: RollbackRequest,
): RollbackPlan {
  if (request.expectedVersion !== undefined && request.expectedVersion !== current.version) {
    return { performed: false };
  }
  if (isOffForEveryone(current, betaMembers)) return { performed: false };
  const next: FeatureRecord = {
    ...current,
    rolloutPercentage: 0,
    rolloutStrategy: current.rolloutStrategy === 'stable' ? 'gradual' : current.rolloutStrategy,
    version: current.version + 1,
    updatedAt: request.at,
    stageStartedAt: request.at,
    stageVersion: current.version + 1,
    lastRollbackAt: request.at,
  };
  const record: RollbackRecord = {
    id: newId('rb'),
    feature: current.name,
    at: request.at,
    // Stored reasons are bounded; a monitor's reason lists every finding and can run long.
    reason:
      request.reason.length > MAX_REASON ? `${request.reason.slice(0, MAX_REASON - 3)}...` : request.reason,
    source: request.source,
    previous: {
      rolloutPercentage: current.rolloutPercentage,
      rolloutStrategy: current.rolloutStrategy,
      betaUsers: betaMembers,
    },
    ...(request.figures === undefined ? {} : { figures: { ...request.figures } }),
  };
  return { performed: true, next, record };
}
