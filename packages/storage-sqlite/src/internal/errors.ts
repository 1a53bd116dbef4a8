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
  if (!isSqliteError(error)) {
    if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
      return new StoreUnavailableError(`${PREFIX}: ${operation} on ${where}: the connection is closed`, {
        cause: error,
      });
    }
    return error;
  }
  const message = `${PREFIX}: ${operation} on ${where} failed: ${error.code}: ${error.message}`;
  const code = error.code;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_FORMAT') {
    return new StoreDataCorruptedError(message, { cause: error });
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new ConflictError(message, { cause: error });
  }
  if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_RANGE') {
    return new InvalidArgumentError(message, { cause: error });
  }
  // Busy, locked, I/O, full disk, read-only, cannot open and the rest: the store cannot serve now.
  return new StoreUnavailableError(message, { cause: error });
}
