import {
  emptyMetricBucket,
  InvalidArgumentError,
  type MetricBucket,
  parseJsonText,
  StoreDataCorruptedError,
  validStoredBucket,
} from '@canary-rollout/core/store-kit';
import { PKG } from './commands';

/** Store name as `parseStored` puts it into messages. */
const STORE = 'storage-redis';

/**
 * Splits a stored `<number> <JSON>` (an entry with its version, a log line with its time) and
 * parses the JSON. `location` names the key; never the entry's own key, which may be a user id.
 */
export function decodeTagged(text: unknown, location: string): { tag: number; value: unknown } {
  const space = typeof text === 'string' ? text.indexOf(' ') : -1;
  const tag = space > 0 ? Number((text as string).slice(0, space)) : Number.NaN;
  if (!Number.isFinite(tag)) {
    throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${location}: no number before the value`);
  }
  return { tag, value: parseJsonText((text as string).slice(space + 1), STORE, location) };
}

/** JSON text of a value to store; a value JSON cannot hold is refused before anything is sent. */
export function encodeValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new InvalidArgumentError(`${PKG}: a value JSON cannot hold cannot be stored`);
  return text;
}

/** Parses a stored version or counter under `key` (absent: 0). */
export function decodeVersion(text: unknown, key: string): number {
  if (text === null || text === undefined) return 0;
  if (typeof text === 'number' && Number.isSafeInteger(text)) return text;
  if (typeof text === 'string' && /^\d{1,15}$/.test(text)) return Number(text);
  throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${key}: the version is not a number`);
}

const COUNTERS = ['calls', 'successes', 'failures', 'latencyCount'] as const;
const SCALARS: ReadonlySet<string> = new Set([...COUNTERS, 'latencySumMs']);

/** The Lua arguments of one delta: integer increments, latency sum, and register maxima. */
export function encodeMetricDelta(delta: MetricBucket): (string | number)[] {
  const increments: (string | number)[] = [];
  for (const field of COUNTERS) {
    // `calls` is always sent so the bucket exists even for an all-zero delta.
    if (delta[field] !== 0 || field === 'calls') increments.push(field, delta[field]);
  }
  for (const bin in delta.histogram) {
    const count = delta.histogram[bin] ?? 0;
    if (count !== 0) increments.push(`h:${bin}`, count);
  }
  const registers: (string | number)[] = [];
  for (const reg in delta.users) registers.push(`u:${reg}`, delta.users[reg] ?? 0);
  return [
    increments.length / 2,
    ...increments,
    delta.latencySumMs === 0 ? '0' : String(delta.latencySumMs),
    registers.length / 2,
    ...registers,
  ];
}

/** Rebuilds a bucket from its hash fields (HGETALL reply) and validates it. */
export function decodeMetricBucket(
  identity: { feature: string; arm: string; bucketStart: number; stage?: number },
  fields: readonly string[],
  location: string,
): MetricBucket {
  // Null prototypes: a field named `h:__proto__` must reach validation, not the prototype.
  const histogram: Record<string, unknown> = Object.create(null);
  const users: Record<string, unknown> = Object.create(null);
  const { feature, arm, bucketStart, stage } = identity;
  const bucket = { ...emptyMetricBucket(feature, arm, bucketStart, stage), histogram, users };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = fields[i] as string;
    const value = Number(fields[i + 1]);
    if (field.startsWith('h:')) histogram[field.slice(2)] = value;
    else if (field.startsWith('u:')) users[field.slice(2)] = value;
    else if (SCALARS.has(field)) (bucket as Record<string, unknown>)[field] = value;
    // Other fields may come from a newer version of this package; they are left alone.
  }
  return validStoredBucket(bucket, STORE, location);
}
