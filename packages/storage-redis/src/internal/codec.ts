import {
  type MetricBucket,
  metricBucketSchema,
  parseArgument,
  parseStored,
  StoreDataCorruptedError,
} from '@canary-rollout/core';
import type { z } from 'zod';
import { PKG } from './commands';

/** Store name as `parseStored` puts it into messages. */
const STORE = 'storage-redis';

/** Parses JSON text read from Redis and validates it; `location` names key and field. */
export function decodeStored<S extends z.ZodType>(schema: S, text: unknown, location: string): z.infer<S> {
  if (typeof text !== 'string') {
    throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${location}: expected JSON text`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // No cause: V8's message quotes the text, which may hold personal data.
    throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${location}: not valid JSON`);
  }
  return parseStored(schema, value, STORE, location);
}

/** Validates an argument the same way stored data is, so nothing invalid gets written. */
export function validateArgument<S extends z.ZodType>(
  schema: S,
  value: unknown,
  operation: string,
): z.infer<S> {
  return parseArgument(schema, value, STORE, operation.replace(/ argument$/, ''));
}

/** Parses the state version stored under `key` (absent: 0). */
export function decodeVersion(text: unknown, key: string): number {
  if (text === null || text === undefined) return 0;
  if (typeof text === 'string' && /^\d{1,15}$/.test(text)) return Number(text);
  throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${key}: the state version is not a number`);
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
  const bucket: Record<string, unknown> = {
    ...identity,
    calls: 0,
    successes: 0,
    failures: 0,
    latencyCount: 0,
    latencySumMs: 0,
  };
  // Null prototypes: a field named `h:__proto__` must reach validation, not the prototype.
  const histogram: Record<string, unknown> = Object.create(null);
  const users: Record<string, unknown> = Object.create(null);
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = fields[i] as string;
    const value = Number(fields[i + 1]);
    if (field.startsWith('h:')) histogram[field.slice(2)] = value;
    else if (field.startsWith('u:')) users[field.slice(2)] = value;
    else if (SCALARS.has(field)) bucket[field] = value;
    // Other fields may come from a newer version of this package; they are left alone.
  }
  bucket.histogram = histogram;
  bucket.users = users;
  return parseStored(metricBucketSchema, bucket, STORE, location);
}
