import { parseArgument, parseStored, StoreDataCorruptedError } from '@canary-rollout/core';
import { PREFIX, STORE_NAME } from './constants';

type Schema = Parameters<typeof parseStored>[0];
type Parsed<S extends Schema> = ReturnType<typeof parseStored<S>>;

/**
 * Parses a stored JSON column and validates it. JSON.parse's own message quotes the text, which
 * can hold personal data, so it is neither repeated nor kept as the cause.
 */
export function readRecord<S extends Schema>(schema: S, text: unknown, location: string): Parsed<S> {
  let value: unknown;
  try {
    if (typeof text !== 'string') throw new TypeError('not text');
    value = JSON.parse(text);
  } catch {
    throw new StoreDataCorruptedError(`${PREFIX}: corrupted data in ${location}: not valid JSON text`);
  }
  return parseStored(schema, value, STORE_NAME, location);
}

/** Validates what a caller passed before it is stored (the same check as on reads). */
export function validArgument<S extends Schema>(schema: S, value: unknown, operation: string): Parsed<S> {
  return parseArgument(schema, value, STORE_NAME, operation);
}
