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
  return hasValidScalars(value) && isHistogram(value['histogram']) && isRegisters(value['users']);
}

/** Every field of a metric bucket but its two maps, as the schema has them. */
function hasValidScalars(value: unknown): value is Record<string, unknown> {
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
    b['latencySumMs'] >= 0
  );
}

/**
 * `JSON.stringify(map)` of a map `isHistogram` (`maxDigits` 3) or `isRegisters` (4) accepts, or
 * `undefined` where it would not. Writes the text in the pass that checks it: enumerating the
 * keys of these integer-keyed maps is most of the cost of checking and of encoding alike.
 */
function checkedMapJson(
  value: unknown,
  maxDigits: number,
  isEntry: (value: unknown) => boolean,
): string | undefined {
  if (!isPlainObject(value)) return undefined;
  const keys = Object.keys(value);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const entry = value[key];
    if (!isDigits(key, maxDigits) || !isEntry(entry)) return undefined;
    // Digits need no escaping, and a safe integer is written by JSON as by String.
    out += `${i === 0 ? '' : ','}"${key}":${entry as number}`;
  }
  return `${out}}`;
}

/**
 * The JSON text of metric buckets, each with the schema's fields only (`feature`, `arm`,
 * `stage` when set, `bucketStart`, the counters, `latencySumMs`, `histogram`, `users`), or
 * `undefined` when a bucket fails `isMetricBucket` (the caller then checks them one by one for the
 * message). Checks and encodes in one pass: for a driver sending JSON, as cheap as the check alone
 * plus a third of `JSON.stringify`.
 */
export function metricBucketsJson(values: readonly unknown[]): string | undefined {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    const b = values[i];
    if (!hasValidScalars(b)) return undefined;
    const histogram = checkedMapJson(b['histogram'], 3, isCount);
    if (histogram === undefined) return undefined;
    const users = checkedMapJson(b['users'], 4, isRank);
    if (users === undefined) return undefined;
    // The names' patterns hold nothing JSON escapes; the numbers are finite.
    out += `${i === 0 ? '' : ','}{"feature":"${b['feature'] as string}","arm":"${b['arm'] as string}",${
      b['stage'] === undefined ? '' : `"stage":${b['stage'] as number},`
    }"bucketStart":${b['bucketStart'] as number},"calls":${b['calls'] as number},"successes":${
      b['successes'] as number
    },"failures":${b['failures'] as number},"latencyCount":${b['latencyCount'] as number},"latencySumMs":${
      b['latencySumMs'] as number
    },"histogram":${histogram},"users":${users}}`;
  }
  return `${out}]`;
}

/**
 * Validates a metric bucket a driver decoded (fast path first); throws `StoreDataCorruptedError`
 * naming the store and `location`.
 */
export function validStoredBucket(value: unknown, store: string, location: string): MetricBucket {
  return isMetricBucket(value) ? value : parseStored(recordSchemas().metricBucket, value, store, location);
}
