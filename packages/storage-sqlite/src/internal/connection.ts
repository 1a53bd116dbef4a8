import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, StoreUnavailableError } from '@canary-rollout/core';
import Database from 'better-sqlite3';
import { BUSY_SLICE_MS, retryWhileBusyAsync } from './busy';
import { PREFIX } from './constants';
import { toStoreError } from './errors';
import { checkInfo, inspectFile, readInfo } from './inspect';
import { migrate, SCHEMA_VERSION } from './migrations';

/** Bytes the WAL file is truncated to after a checkpoint resets it (SQLite keeps it otherwise). */
export const WAL_SIZE_LIMIT = 4 * 1024 * 1024;

/** Connection settings the store applies. */
export interface ConnectionSettings {
  readonly busyTimeoutMs: number;
  readonly synchronous: 'normal' | 'full';
}

/** An open, configured, migrated connection. */
export interface Connection {
  readonly db: Database.Database;
  /** True when the store opened it and so closes it. */
  readonly owned: boolean;
  /** How messages name the database: its path. */
  readonly where: string;
}

/** Opens (or adopts) a connection, refusing foreign or newer databases before writing anything. */
export async function openConnection(
  source: { readonly path: string } | { readonly database: Database.Database },
  settings: ConnectionSettings,
): Promise<Connection> {
  if ('database' in source) {
    const db = source.database;
    const where = `database "${db.name}"`;
    if (!db.open) throw new InvalidArgumentError(`${PREFIX}: the ${where} passed as "database" is closed`);
    if (db.readonly) {
      throw new InvalidArgumentError(`${PREFIX}: the ${where} passed as "database" is read-only`);
    }
    await configure(db, where, settings);
    return { db, owned: false, where };
  }
  const inMemory = source.path === ':memory:' || source.path === '';
  const path = inMemory ? source.path : resolve(source.path);
  const where = inMemory ? 'in-memory database' : `database "${path}"`;
  if (!inMemory) prepareFile(path, where, settings.busyTimeoutMs);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: busySlice(settings), fileMustExist: !inMemory });
  } catch (error) {
    throw toStoreError(error, 'opening', where);
  }
  try {
    await configure(db, where, settings);
  } catch (error) {
    db.close();
    throw error;
  }
  return { db, owned: true, where };
}

function prepareFile(path: string, where: string, timeout: number): void {
  if (inspectFile(path, where, SCHEMA_VERSION, timeout) !== 'missing') return;
  try {
    // The database holds emails and names: only the owner may read it. SQLite gives the -wal
    // and -shm files the database file's mode.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new StoreUnavailableError(`${PREFIX}: cannot create ${where}`, { cause: error });
  }
}

/** SQLite's busy timeout per attempt; `retryWhileBusyAsync` makes up the rest of `busyTimeoutMs`. */
function busySlice(settings: ConnectionSettings): number {
  return Math.min(settings.busyTimeoutMs, BUSY_SLICE_MS);
}

async function configure(db: Database.Database, where: string, settings: ConnectionSettings): Promise<void> {
  try {
    db.pragma(`busy_timeout = ${busySlice(settings)}`);
    // Every step is idempotent and each write is one transaction: safe to run again when busy.
    await retryWhileBusyAsync(() => setUp(db, where, settings), settings.busyTimeoutMs);
  } catch (error) {
    throw toStoreError(error, 'opening', where);
  }
}

function setUp(db: Database.Database, where: string, settings: ConnectionSettings): void {
  db.pragma('foreign_keys = ON');
  // Deleted rows are overwritten with zeros, not left in free pages: removeUser must erase.
  db.pragma('secure_delete = ON');
  // Switching to WAL writes the header, so a foreign database must be refused before it.
  checkInfo(readInfo(db), where, SCHEMA_VERSION);
  if (!db.memory) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') {
      throw new StoreUnavailableError(
        `${PREFIX}: ${where} could not be switched to WAL mode (journal_mode is "${String(mode)}")`,
      );
    }
  }
  db.pragma(`synchronous = ${settings.synchronous.toUpperCase()}`);
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  // The store checkpoints itself after its writes (see Transactor): SQLite's automatic PASSIVE
  // checkpoints, run by every process after its commits, hold the checkpoint lock so often
  // that the store's RESTART checkpoints find it taken, and the WAL grows without bound.
  db.pragma('wal_autocheckpoint = 0');
  migrate(db, where);
}
