import type { z } from 'zod';
import { InvalidArgumentError, StoreDataCorruptedError } from '../errors';

/**
 * The package a store's messages start with: a scoped name as given, a canary-rollout package
 * without its scope (`'storage-file'`) with it.
 */
export function packageLabel(store: string): string {
  return store.startsWith('@') ? store : `@canary-rollout/${store}`;
}

/**
 * Decodes JSON text read from a store; text that does not parse is reported with
 * `StoreDataCorruptedError` naming the store and `location`, never quoting the text (the parser's
 * message would, and stored records can hold personal data).
 */
export function parseJsonText(text: string, store: string, location: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StoreDataCorruptedError(
      `${packageLabel(store)}: corrupted data in ${location}: not valid JSON`,
    );
  }
}

/**
 * Parses data read from a store; on failure throws `StoreDataCorruptedError` naming the store,
 * where the data was (`location`) and the first problems by path. Values are not echoed:
 * stored records can hold personal data.
 */
export function parseStored<S extends z.ZodType>(
  schema: S,
  value: unknown,
  store: string,
  location: string,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new StoreDataCorruptedError(
    `${packageLabel(store)}: corrupted data in ${location}: ${problems(result.error)}`,
  );
}

/**
 * Validates what a caller asks a store to write, with the schema reads use, so nothing invalid is
 * stored. Throws `InvalidArgumentError` naming the operation and the problems by path.
 */
export function parseArgument<S extends z.ZodType>(
  schema: S,
  value: unknown,
  store: string,
  operation: string,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidArgumentError(
    `${packageLabel(store)}: invalid ${operation} argument: ${problems(result.error)}`,
  );
}

function problems(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
