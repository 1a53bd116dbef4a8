import { RolloutGuardError } from '../errors';
import type { CanaryConfig } from '../schemas/config';
import type { FeatureRecord } from '../schemas/records';
import { raiseAllowance } from '../thresholds/stability';

/**
 * Refuses a raise of `current` to `percentage` that the configured guards forbid: a step larger
 * than `maxStep`, or a raise before the feature has run healthy for `minStableTime`, as its
 * health mark `mark` (the stored meta value, undefined when there is none) says.
 */
export function checkRaise(
  config: CanaryConfig,
  current: FeatureRecord,
  percentage: number,
  now: number,
  mark: unknown,
): void {
  const settings = config.canaryRollout.features[current.name];
  const thresholds = config.canaryRollout.thresholds;
  const maxStep = settings?.maxStep ?? thresholds.maxStep;
  if (maxStep !== undefined && percentage - current.rolloutPercentage > maxStep + 1e-9) {
    throw new RolloutGuardError(
      `@canary-rollout/core: raise of "${current.name}" from ${current.rolloutPercentage} % to ${percentage} % exceeds maxStep ${maxStep}; raise in smaller steps or force`,
    );
  }
  const minStableTime = minStableTimeFor(config, current.name);
  const allowance = raiseAllowance(current, minStableTime, now, mark);
  if (allowance === null) return;
  const { allowedAt, healthySince, unhealthySince } = allowance;
  if (unhealthySince !== undefined) {
    throw new RolloutGuardError(
      `@canary-rollout/core: "${current.name}" at ${current.rolloutPercentage} % has been unhealthy since ${new Date(unhealthySince).toISOString()}; minStableTime allows a raise once it has run healthy for ${minStableTime} ms, ${new Date(allowedAt).toISOString()} at the earliest (or force)`,
      allowedAt,
    );
  }
  if (now < allowedAt) {
    throw new RolloutGuardError(
      `@canary-rollout/core: "${current.name}" has been at ${current.rolloutPercentage} % and healthy since ${new Date(healthySince ?? current.stageStartedAt).toISOString()}; minStableTime allows a raise from ${new Date(allowedAt).toISOString()} (or force)`,
      allowedAt,
    );
  }
}

/** The minStableTime guarding `feature`: its own, else the global one; undefined when none. */
export function minStableTimeFor(config: CanaryConfig, feature: string): number | undefined {
  return (
    config.canaryRollout.features[feature]?.minStableTime ?? config.canaryRollout.thresholds.minStableTime
  );
}
