/** Machine-readable error codes of canary-rollout. */
export type CanaryErrorCode =
  | 'CONFIG_INVALID'
  | 'INVALID_ARGUMENT'
  | 'STORE_UNAVAILABLE'
  | 'STORE_DATA_CORRUPTED'
  | 'STORE_DATA_LOST'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'ROLLOUT_GUARD';

/**
 * Marks canary-rollout errors. A registered symbol is the same in every copy of this package in a
 * process (its ESM and CommonJS builds, two versions in node_modules), where `instanceof` is not.
 */
const BRAND = Symbol.for('@canary-rollout/core:error');

/** Base class of every error thrown by canary-rollout packages. */
export class CanaryRolloutError extends Error {
  /** Stable code to branch on; the message is for people. */
  readonly code: CanaryErrorCode;

  constructor(code: CanaryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** The configuration is invalid; `issues` lists every problem as `path: message`. */
export class ConfigInvalidError extends CanaryRolloutError {
  /** One entry per problem, each naming the JSON path and the value found. */
  readonly issues: readonly string[];

  constructor(message: string, issues: readonly string[], options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, options);
    this.issues = issues;
  }
}

/** An argument passed to the API is invalid (names the argument and the value). */
export class InvalidArgumentError extends CanaryRolloutError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** The store could not be reached or refused the operation. */
export class StoreUnavailableError extends CanaryRolloutError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

/** The store holds data that is not valid canary-rollout data; it was left untouched. */
export class StoreDataCorruptedError extends CanaryRolloutError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_DATA_CORRUPTED', message, options);
  }
}

/**
 * A state read lost features this process knew (a Redis `FLUSHALL` or eviction, a restart
 * without persistence, a deleted file): the last good snapshot keeps serving and the store is
 * restored from it and the config. `features` names what was missing.
 */
export class StoreDataLostError extends CanaryRolloutError {
  /** The features this process knew that the store no longer held. */
  readonly features: readonly string[];

  constructor(message: string, features: readonly string[], options?: { cause?: unknown }) {
    super('STORE_DATA_LOST', message, options);
    this.features = features;
  }
}

/** A compare-and-set lost: the record changed since it was read. */
export class ConflictError extends CanaryRolloutError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFLICT', message, options);
  }
}

/** The feature, user or record does not exist. */
export class NotFoundError extends CanaryRolloutError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

/** A rollout change was refused by a safety guard (minStableTime, maxStep); pass `force` to override. */
export class RolloutGuardError extends CanaryRolloutError {
  /** When the change becomes allowed (epoch ms), if it is a matter of time. */
  readonly allowedAt: number | undefined;

  constructor(message: string, allowedAt?: number) {
    super('ROLLOUT_GUARD', message);
    this.allowedAt = allowedAt;
  }
}

/**
 * True when `error` is a canary-rollout error, optionally of the given code. Unlike `instanceof`,
 * it holds for errors thrown by another copy of the package (ESM beside CommonJS, two versions).
 */
export function isCanaryRolloutError(error: unknown, code?: CanaryErrorCode): error is CanaryRolloutError {
  if (typeof error !== 'object' || error === null || (error as { [BRAND]?: unknown })[BRAND] !== true) {
    return false;
  }
  return code === undefined || (error as { code?: unknown }).code === code;
}
