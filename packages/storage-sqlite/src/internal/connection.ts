import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, StoreUnavailableError } from '@canary-rollout/core';
import Database from 'better-sqlite3';
import type { ResolvedOptions } from '../options';
import { BUSY_SLICE_MS, retryWhileBusyAsync } from './busy';
import { PREFIX } from './constants';
import { toStoreError } from './errors';
import { checkInfo, inspectFile, readInfo } from './inspect';
import { MetricWriter } from './metric-writer';
import { migrate, SCHEMA_VERSION } from './migrations';
import { prepareStatements } from './statements';
import { Transactor, WAL_SIZE_LIMIT } from './transactor';

/**
 * Opens (or adopts) a connection, refusing foreign or newer databases before writing anything, and
 * prepares what runs on it (the connection itself is `t.db`). `owned`: the store opened it and so
 * closes it; `where` names the database in messages.
 */
export async function openConnection(options: ResolvedOptions) {
  const { source, busyTimeoutMs } = options;
  // SQLite's busy timeout per attempt; `retryWhileBusyAsync` makes up the rest of `busyTimeoutMs`.
  const slice = Math.min(busyTimeoutMs, BUSY_SLICE_MS);
  const owned = 'path' in source;
  const { db, where } =
    'path' in source ? openFile(source.path, slice, busyTimeoutMs) : adopt(source.database);
  try {
    db.pragma(`busy_timeout = ${slice}`);
    // Every step is idempotent and each write is one transaction: safe to run again when busy.
    await retryWhileBusyAsync(() => setUp(db, where, options.synchronous), busyTimeoutMs);
    const st = prepareStatements(db);
    return { owned, where, st, t: new Transactor(db, st), metrics: new MetricWriter(st, options) };
  } catch (error) {
    if (owned) db.close();
    throw toStoreError(error, 'opening', where);
  }
}

export type Connection = Awaited<ReturnType<typeof openConnection>>;

function adopt(db: Database.Database) {
  const where = `database "${db.name}"`;
  if (!db.open) throw new InvalidArgumentError(`${PREFIX}: the ${where} passed as "database" is closed`);
  if (db.readonly)
    throw new InvalidArgumentError(`${PREFIX}: the ${where} passed as "database" is read-only`);
  return { db, where };
}

function openFile(given: string, slice: number, busyTimeoutMs: number) {
  const inMemory = given === ':memory:' || given === '';
  const path = inMemory ? given : resolve(given);
  const where = inMemory ? 'in-memory database' : `database "${path}"`;
  if (!inMemory) prepareFile(path, where, busyTimeoutMs);
  try {
    return { db: new Database(path, { timeout: slice, fileMustExist: !inMemory }), where };
  } catch (error) {
    throw toStoreError(error, 'opening', where);
  }
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

function setUp(db: Database.Database, where: string, synchronous: 'normal' | 'full'): void {
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
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  // The store checkpoints itself after its writes (see Transactor): SQLite's automatic PASSIVE
  // checkpoints, run by every process after its commits, hold the checkpoint lock so often
  // that the store's RESTART checkpoints find it taken, and the WAL grows without bound.
  db.pragma('wal_autocheckpoint = 0');
  migrate(db, where);
}
