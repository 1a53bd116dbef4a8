import { randomUUID } from 'node:crypto';

/** Ids for stored records: a prefix and a random UUID. */
export function newId(prefix: string): string {
  return `${prefix}_${randomUUID()}`;
}
