import {
  CanaryRolloutError,
  ConflictError,
  InvalidArgumentError,
  StoreDataCorruptedError,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { PREFIX } from './constants';

function isSqliteError(error: unknown): error is Error & { code: string } {
  return (
    error instanceof Error &&
    error.name === 'SqliteError' &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}

/** True when `error` is SQLite's SQLITE_BUSY (or one of its extended codes). */
export function isBusy(error: unknown): boolean {
  return isSqliteError(error) && error.code.startsWith('SQLITE_BUSY');
}

/**
 * Turns what better-sqlite3 threw into a core error, keeping the original as `cause`.
 * SQLite's messages name tables and columns, never bound values, so they are safe to repeat.
 * Errors of this package and anything that is not a database fault pass through unchanged.
 */
export function toStoreError(error: unknown, operation: string, where: string): unknown {
  if (error instanceof CanaryRolloutError) return error;
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
    const message = `${PREFIX}: ${operation} on ${where}: the connection is closed`;
    return new StoreUnavailableError(message, { cause: error });
  }
  if (!isSqliteError(error)) return error;
  const code = error.code;
  const Kind =
    code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_FORMAT'
      ? StoreDataCorruptedError
      : code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
        ? ConflictError
        : code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_RANGE'
          ? InvalidArgumentError
          : // Busy, locked, I/O, full disk, read-only, cannot open and the rest: the store cannot serve now.
            StoreUnavailableError;
  return new Kind(`${PREFIX}: ${operation} on ${where} failed: ${code}: ${error.message}`, { cause: error });
}
