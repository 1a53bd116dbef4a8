import { isValidFeatureName } from '../schemas/names';
import { type MetricBucket, recordSchemas } from '../schemas/records';
import { parseStored } from './validate';

const ARM = /^[A-Za-z0-9:_.-]{1,80}$/;
const MAX_RANK = 32;

/** `/^\d{1,max}$/` without a regular expression: this runs for every bin and register. */
function isDigits(key: string, max: number): boolean {
  const length = key.length;
  if (length === 0 || length > max) return false;
  for (let i = 0; i < length; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRank(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_RANK;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Histogram as the schema has it: bin index (1 to 3 digits) to count. */
export function isHistogram(value: unknown): value is Record<string, number> {
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) if (!isDigits(key, 3) || !isCount(value[key])) return false;
  return true;
}

/** Registers as the schema has them: register index (1 to 4 digits) to rank 1..32. */
function isRegisters(value: unknown): value is Record<string, number> {
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) if (!isDigits(key, 4) || !isRank(value[key])) return false;
  return true;
}

/**
 * A hand-written `metricBucketSchema` check for the write and read paths, where zod's cost per
 * register adds up (2048 registers per bucket). It is never looser than the schema: whatever it
 * rejects goes through `parseStored`, which either names the problem or accepts the value.
 */
export function isMetricBucket(value: unknown): value is MetricBucket {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const b = value as Record<string, unknown>;
  return (
    isValidFeatureName(b['feature']) &&
    typeof b['arm'] === 'string' &&
    ARM.test(b['arm']) &&
    isCount(b['bucketStart']) &&
    (b['stage'] === undefined || (isCount(b['stage']) && b['stage'] > 0)) &&
    isCount(b['calls']) &&
    isCount(b['successes']) &&
    isCount(b['failures']) &&
    isCount(b['latencyCount']) &&
    typeof b['latencySumMs'] === 'number' &&
    Number.isFinite(b['latencySumMs']) &&
    b['latencySumMs'] >= 0 &&
    isHistogram(b['histogram']) &&
    isRegisters(b['users'])
  );
}

/**
 * Validates a metric bucket a driver decoded (fast path first); throws `StoreDataCorruptedError`
 * naming the store and `location`.
 */
export function validStoredBucket(value: unknown, store: string, location: string): MetricBucket {
  return isMetricBucket(value) ? value : parseStored(recordSchemas().metricBucket, value, store, location);
}
