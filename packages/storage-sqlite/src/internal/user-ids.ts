/** Ids core generates for users (`newId('usr')`): safe to show, they say nothing about a person. */
const GENERATED_ID = /^usr_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A user id as it may appear in a message: an app's own ids may be emails or names, so only
 * their length is shown; ids the SDK generated are shown as they are.
 */
export function describeUserId(id: unknown): string {
  if (typeof id !== 'string') return typeof id;
  return GENERATED_ID.test(id) ? `"${id}"` : `(an id of ${id.length} characters)`;
}
