import { isValidFeatureName, type MetricBucket, metricBucketSchema, parseStored } from '@canary-rollout/core';
import { STORE_NAME } from './constants';

const ARM = /^[A-Za-z0-9:_.-]{1,80}$/;
const BIN_KEY = /^\d{1,3}$/;
const REGISTER_KEY = /^\d{1,4}$/;
const MAX_RANK = 32;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecordOf(value: unknown, key: RegExp, valid: (v: unknown) => boolean): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) if (!key.test(k) || !valid(record[k])) return false;
  return true;
}

function isRank(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_RANK;
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
    isCount(b['calls']) &&
    isCount(b['successes']) &&
    isCount(b['failures']) &&
    isCount(b['latencyCount']) &&
    typeof b['latencySumMs'] === 'number' &&
    Number.isFinite(b['latencySumMs']) &&
    b['latencySumMs'] >= 0 &&
    isRecordOf(b['histogram'], BIN_KEY, isCount) &&
    isRecordOf(b['users'], REGISTER_KEY, isRank)
  );
}

/** True for a histogram as stored: bin index to count. */
export function isHistogram(value: unknown): value is Record<string, number> {
  return isRecordOf(value, BIN_KEY, isCount);
}

/** Validates a metric bucket (fast path first); throws `StoreDataCorruptedError` naming `location`. */
export function validMetricBucket(value: unknown, location: string): MetricBucket {
  return isMetricBucket(value) ? value : parseStored(metricBucketSchema, value, STORE_NAME, location);
}

/**
 * Adds a delta's registers into dense registers (one byte per register, its rank; 0 = empty),
 * growing them when the delta names a higher register. Mutates and returns `into` when it is
 * large enough, else a grown copy.
 */
export function mergeRegisters(
  into: Uint8Array | undefined,
  delta: Readonly<Record<string, number>>,
): Uint8Array {
  let size = into?.length ?? 0;
  for (const key in delta) {
    const index = Number(key);
    if (index >= size) size = index + 1;
  }
  let registers = into;
  if (registers === undefined || registers.length < size) {
    registers = Buffer.alloc(size);
    if (into !== undefined) registers.set(into);
  }
  for (const key in delta) {
    const index = Number(key);
    const rank = delta[key] ?? 0;
    if (rank > (registers[index] ?? 0)) registers[index] = rank;
  }
  return registers;
}

/** Sparse registers (index to rank, non-zero only) from the dense stored form. */
export function sparseRegisters(registers: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < registers.length; i++) {
    const rank = registers[i] ?? 0;
    if (rank !== 0) out[i] = rank;
  }
  return out;
}

/** Adds a delta's histogram bins into a parsed stored histogram (mutating it). */
export function mergeHistogram(
  into: Record<string, number>,
  delta: Readonly<Record<string, number>>,
): Record<string, number> {
  for (const bin in delta) into[bin] = (into[bin] ?? 0) + (delta[bin] ?? 0);
  return into;
}
