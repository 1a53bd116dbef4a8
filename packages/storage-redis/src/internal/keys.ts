import { InvalidArgumentError } from '@canary-rollout/core/store-kit';

/** The layout version this package reads and writes, stored under `{ns}:format`. */
export const FORMAT = 1;

/**
 * Percent-encodes a name used in a key. `{`, `}`, `:` and `%` are always encoded, so an encoded
 * part can neither open or close a hash tag nor be mistaken for a separator, and two different
 * inputs never encode to the same text.
 */
export function encodeKeyPart(part: string): string {
  try {
    return encodeURIComponent(part);
  } catch (error) {
    // Only a lone UTF-16 surrogate cannot be encoded; it cannot be sent to Redis faithfully either.
    throw new InvalidArgumentError(
      '@canary-rollout/storage-redis: a name used in a key is not valid Unicode text (lone surrogate)',
      { cause: error },
    );
  }
}

/**
 * Every key and the change channel of one namespace. All start with the same hash tag
 * `{<encoded namespace>}`, so they live in one Cluster slot and multi-key scripts are allowed.
 * Collections, sets and logs are stored by name, as data. No user id, email or name is ever part
 * of a key: users are hash fields and set members, emails only digests.
 */
export class KeyLayout {
  /** Text before every key: `{<encoded namespace>}:`. */
  readonly prefix: string;
  readonly format: string;
  readonly version: string;
  readonly changes: string;
  /** Hash of set versions: encoded set name to its version. */
  readonly setVersions: string;
  /** Prefix of sets, followed by the encoded set name. */
  readonly setPrefix: string;
  readonly metricsIndex: string;
  /** Prefix of metric bucket hashes, followed by an index member. */
  readonly metricPrefix: string;

  constructor(namespace: string) {
    this.prefix = `{${encodeKeyPart(namespace)}}:`;
    this.format = `${this.prefix}format`;
    this.version = `${this.prefix}version`;
    this.changes = `${this.prefix}changes`;
    this.setVersions = `${this.prefix}set-versions`;
    this.setPrefix = `${this.prefix}s:`;
    this.metricsIndex = `${this.prefix}metrics:index`;
    this.metricPrefix = `${this.prefix}metrics:bucket:`;
  }

  /** The hash of one collection: entry key to `<version> <JSON>`. */
  collection(name: string): string {
    return `${this.prefix}c:${encodeKeyPart(name)}`;
  }

  /** The set of one set name (`blacklist`, `beta:<feature>`). */
  set(name: string): string {
    return this.setPrefix + encodeKeyPart(name);
  }

  /** The capped list of one log: `<at> <JSON>` per entry. */
  log(name: string): string {
    return `${this.prefix}log:${encodeKeyPart(name)}`;
  }

  /** The metrics index member of a bucket: encoded feature, encoded arm, bucket start and stage when it has one. */
  metricMember(feature: string, arm: string, bucketStart: number, stage?: number): string {
    const base = `${encodeKeyPart(feature)}:${encodeKeyPart(arm)}:${bucketStart}`;
    return stage === undefined ? base : `${base}:${stage}`;
  }

  /** The number of the last metrics batch applied from one writer (or store handle). */
  metricsFlushed(handle: string): string {
    return `${this.prefix}metrics:flushed:${encodeKeyPart(handle)}`;
  }

  /** The hash holding one bucket's counters. */
  metricBucket(member: string): string {
    return this.metricPrefix + member;
  }

  /** Splits an index member back into its parts; undefined when it is not one. */
  parseMetricMember(
    member: string,
  ): { feature: string; arm: string; bucketStart: number; stage?: number } | undefined {
    const parts = member.split(':');
    if (parts.length !== 3 && parts.length !== 4) return undefined;
    const [feature, arm, start, stage] = parts as [string, string, string, string | undefined];
    if (!/^\d{1,16}$/.test(start)) return undefined;
    if (stage !== undefined && !/^[1-9]\d{0,15}$/.test(stage)) return undefined;
    try {
      return {
        feature: decodeURIComponent(feature),
        arm: decodeURIComponent(arm),
        bucketStart: Number(start),
        ...(stage === undefined ? {} : { stage: Number(stage) }),
      };
    } catch {
      return undefined;
    }
  }
}
