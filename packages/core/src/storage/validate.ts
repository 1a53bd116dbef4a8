import type { z } from 'zod';
import { InvalidArgumentError, StoreDataCorruptedError } from '../errors';

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
    `@canary-rollout/${store}: corrupted data in ${location}: ${problems(result.error)}`,
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
    `@canary-rollout/${store}: invalid ${operation} argument: ${problems(result.error)}`,
  );
}

function problems(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
