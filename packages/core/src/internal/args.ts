import { InvalidArgumentError } from '../errors';
import { isValidFeatureName, isValidPercentage } from '../schemas/names';
import { assertUserIdArgument } from '../storage/user-ids';

export { describeUserId } from '../storage/user-ids';

/** Throws unless `feature` is a valid feature name. */
export function assertFeatureName(feature: unknown, where: string): asserts feature is string {
  if (!isValidFeatureName(feature)) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: ${where}: feature must be a feature name, got ${show(feature)}`,
    );
  }
}

/** Throws unless `userId` is a valid user id (see `userIdProblem`); the id is never echoed. */
export function assertUserId(userId: unknown, where: string): asserts userId is string {
  assertUserIdArgument(userId, 'core', where);
}

/** Throws unless `value` is a percentage 0..100 in 0.01 steps. */
export function assertPercentage(value: unknown, where: string): asserts value is number {
  if (!isValidPercentage(value)) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: ${where}: percentage must be 0..100 in steps of 0.01, got ${show(value)}`,
    );
  }
}

/** A short, safe rendering of a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  return typeof value;
}
