import { StoreDataCorruptedError } from '@canary-rollout/core/store-kit';
import { PKG } from './internal/fs-utils';

/**
 * The on-disk format version this package writes, and the newest it reads; a newer file is
 * refused. Every document (`rollout-config.json`, `beta/beta-users.json`, `metrics/*.json`) holds
 * it as `formatVersion`; JSONL files are versioned with the layout (their lines are plain records).
 */
export const FORMAT_VERSION = 1;

/**
 * Steps from each earlier format to the next, applied in order when a document is read (and
 * written back in the current format at the next write). Format 1 is the first released one,
 * so there is none yet: a change of format adds `MIGRATIONS[n]` taking a format-n document to n+1.
 */
const MIGRATIONS: Readonly<Record<number, (doc: Record<string, unknown>) => Record<string, unknown>>> = {};

/** A parsed document in the current format: migrated when older, refused when newer or foreign. */
export function migrate(path: string, value: unknown): Record<string, unknown> {
  const fail = (problem: string) =>
    new StoreDataCorruptedError(`${PKG}: corrupted data in ${path}: ${problem}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail('(root): expected an object');
  let doc = value as Record<string, unknown>;
  const format = doc['formatVersion'];
  if (typeof format === 'number' && format > FORMAT_VERSION) {
    throw new StoreDataCorruptedError(
      `${PKG}: ${path} has formatVersion ${format}, written by a newer ${PKG}; this version reads up to ${FORMAT_VERSION}, upgrade it`,
    );
  }
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) {
    throw fail(`formatVersion: expected ${FORMAT_VERSION}`);
  }
  for (let v = format; v < FORMAT_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (step === undefined) throw fail(`formatVersion: no migration from ${v}`);
    doc = step(doc);
  }
  return doc;
}
