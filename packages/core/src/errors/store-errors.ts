import { type CanaryRolloutError, isCanaryRolloutError, StoreUnavailableError } from './index';

/** A store failure as a canary-rollout error, keeping the original as `cause`. */
export function asStoreError(error: unknown, during: string): CanaryRolloutError {
  if (isCanaryRolloutError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`@canary-rollout/core: store failed during ${during}: ${message}`, {
    cause: error,
  });
}
