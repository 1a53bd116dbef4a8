/** Exit codes of `rollout-manager`. */
export const EXIT = {
  ok: 0,
  /** The operation failed: store unavailable, data corrupted, config invalid, a guard refused. */
  failure: 1,
  /** The command line was wrong: unknown command, missing or invalid argument. Nothing was written. */
  usage: 2,
} as const;

/** A mistake on the command line; reported as one line with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An operation that could not be done; reported as one line with exit code 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}
