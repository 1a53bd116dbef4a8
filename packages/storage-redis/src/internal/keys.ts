import { InvalidArgumentError, type LogKind } from '@canary-rollout/core';

/**
 * Percent-encodes a user-supplied key part. `{`, `}`, `:` and `%` are always encoded, so an
 * encoded part can neither open or close a hash tag nor be mistaken for a separator, and two
 * different inputs never encode to the same text. Feature names and arms (letters, digits, `_`,
 * `-`, `.`) come out unchanged, which the Lua scripts rely on when they build beta-list keys.
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

/** Reverses `encodeKeyPart`. */
export function decodeKeyPart(part: string): string {
  return decodeURIComponent(part);
}

/**
 * Every key and the change channel of one namespace. All start with the same hash tag
 * `{<encoded namespace>}`, so they live in one Cluster slot and multi-key scripts are allowed.
 * No user id, email or name is ever part of a key: users live in hash fields and set members.
 */
export class KeyLayout {
  /** Text before every key: `{<encoded namespace>}:`. */
  readonly prefix: string;
  readonly version: string;
  readonly features: string;
  readonly blacklist: string;
  readonly users: string;
  readonly userOrder: string;
  readonly userSeq: string;
  readonly emails: string;
  readonly feedback: string;
  readonly rollbacks: string;
  readonly metricsIndex: string;
  readonly changes: string;
  /** Prefix of per-feature beta sets, followed by the encoded feature name. */
  readonly betaPrefix: string;
  /** Prefix of metric bucket hashes, followed by an index member. */
  readonly metricPrefix: string;

  constructor(namespace: string) {
    this.prefix = `{${encodeKeyPart(namespace)}}:`;
    this.version = `${this.prefix}version`;
    this.features = `${this.prefix}features`;
    this.blacklist = `${this.prefix}blacklist`;
    this.users = `${this.prefix}users`;
    this.userOrder = `${this.prefix}users:order`;
    this.userSeq = `${this.prefix}users:seq`;
    this.emails = `${this.prefix}users:by-email`;
    this.feedback = `${this.prefix}feedback`;
    this.rollbacks = `${this.prefix}rollbacks`;
    this.metricsIndex = `${this.prefix}metrics:index`;
    this.changes = `${this.prefix}changes`;
    this.betaPrefix = `${this.prefix}beta:`;
    this.metricPrefix = `${this.prefix}metrics:bucket:`;
  }

  /** The set of user ids in a feature's beta list. */
  beta(feature: string): string {
    return this.betaPrefix + encodeKeyPart(feature);
  }

  /** The capped list of one log. */
  log(kind: LogKind): string {
    return `${this.prefix}log:${kind}`;
  }

  /** The metrics index member of a bucket: encoded feature, encoded arm, bucket start and stage when it has one. */
  metricMember(feature: string, arm: string, bucketStart: number, stage?: number): string {
    const base = `${encodeKeyPart(feature)}:${encodeKeyPart(arm)}:${bucketStart}`;
    return stage === undefined ? base : `${base}:${stage}`;
  }

  /** The number of the last metrics segment applied from one store handle. */
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
        feature: decodeKeyPart(feature),
        arm: decodeKeyPart(arm),
        bucketStart: Number(start),
        ...(stage === undefined ? {} : { stage: Number(stage) }),
      };
    } catch {
      return undefined;
    }
  }
}
