import { InvalidArgumentError } from '../errors';
import { isValidFeatureName, isValidPercentage } from '../schemas/names';

/** Throws unless `feature` is a valid feature name. */
export function assertFeatureName(feature: unknown, where: string): asserts feature is string {
  if (!isValidFeatureName(feature)) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: ${where}: feature must be a feature name, got ${show(feature)}`,
    );
  }
}

/** Throws unless `userId` is a non-empty string of at most 256 characters. */
export function assertUserId(userId: unknown, where: string): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: ${where}: userId must be a non-empty string of at most 256 characters, got ${typeof userId === 'string' ? `a string of ${userId.length} characters` : show(userId)}`,
    );
  }
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

const GENERATED_ID = /^usr_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A user id as it may appear in a message: ids this SDK generated are shown; an app's own ids
 * may be emails or names, so only their length is.
 */
export function describeUserId(id: unknown): string {
  if (typeof id !== 'string') return show(id);
  return GENERATED_ID.test(id) ? `"${id}"` : `(an id of ${id.length} characters)`;
}
