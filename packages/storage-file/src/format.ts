import { StoreDataCorruptedError } from '@canary-rollout/core/store-kit';
import { corruptedData, PKG } from './internal/fs-utils';

/**
 * The on-disk format version this package writes, and the newest it reads; a newer file is
 * refused. Every document (`rollout-config.json`, `beta/beta-users.json`, `metrics/*.json`) holds
 * it as `formatVersion`; JSONL files are versioned with the layout (their lines are plain records).
 */
export const FORMAT_VERSION = 1;

/**
 * A parsed document in the current format, refused when newer or foreign. A later format adds
 * here the step that reads an older document (written back in the new format at the next write).
 */
export function migrate(path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw corruptedData(path, '(root): expected an object');
  const format = (value as Record<string, unknown>)['formatVersion'];
  if (typeof format === 'number' && format > FORMAT_VERSION) {
    throw new StoreDataCorruptedError(
      `${PKG}: ${path} has formatVersion ${format}, written by a newer ${PKG}; this version reads up to ${FORMAT_VERSION}, upgrade it`,
    );
  }
  if (format !== FORMAT_VERSION) throw corruptedData(path, `formatVersion: expected ${FORMAT_VERSION}`);
  return value as Record<string, unknown>;
}
