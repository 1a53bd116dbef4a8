import { InvalidArgumentError } from '../errors';

/** Longest user id the SDK accepts (UTF-16 code units). */
export const MAX_USER_ID_LENGTH = 256;

/** Ids core generates for users (`newId('usr')`): safe to show, they say nothing about a person. */
const GENERATED_ID = /^usr_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A string with `isWellFormed` (Node 20+), typed here because the ES2023 lib lacks it. */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

/**
 * True when `text` is well-formed UTF-16 (no lone surrogate). Stores that keep text as UTF-8
 * (SQLite, Redis) turn a lone surrogate into U+FFFD, so such an id would come back as another id.
 * A direct method call: it is on the evaluation path, where `.call` costs measurably more.
 */
export function isWellFormedText(text: string): boolean {
  return (text as unknown as WellFormedCheck).isWellFormed();
}

/**
 * What is wrong with a user id, or `undefined` when it is valid: a non-empty, well-formed string of
 * at most 256 characters. The answer never quotes the id (ids can be emails).
 */
export function userIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return `must be a string, got ${id === null ? 'null' : typeof id}`;
  if (id.length === 0) return 'must be a non-empty string, got an empty string';
  if (id.length > MAX_USER_ID_LENGTH) {
    return `must be at most ${MAX_USER_ID_LENGTH} characters, got a string of ${id.length} characters`;
  }
  if (!isWellFormedText(id)) {
    return `must be well-formed UTF-16, got a string of ${id.length} characters with a lone surrogate`;
  }
  return undefined;
}

/** True when `id` is a valid user id (see `userIdProblem`). */
export function isValidUserId(id: unknown): id is string {
  return userIdProblem(id) === undefined;
}

/**
 * The one user-id rule of every store and of the API: throws `InvalidArgumentError` naming the
 * package, the operation and the field, without echoing the id.
 */
export function assertUserIdArgument(
  id: unknown,
  pkg: string,
  operation: string,
  field = 'userId',
): asserts id is string {
  const problem = userIdProblem(id);
  if (problem !== undefined) {
    throw new InvalidArgumentError(`@canary-rollout/${pkg}: ${operation}: ${field} ${problem}`);
  }
}

/**
 * A user id as it may appear in a message, log or error: ids this SDK generated are shown; an
 * app's own ids may be emails or names, so only their length is. Every store names users
 * through this helper.
 */
export function describeUserId(id: unknown): string {
  if (typeof id !== 'string') return id === null ? 'null' : typeof id;
  return GENERATED_ID.test(id) ? `"${id}"` : `(an id of ${id.length} characters)`;
}
