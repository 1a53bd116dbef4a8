import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StoreDataCorruptedError, StoreUnavailableError } from '@canary-rollout/core';
import Database from 'better-sqlite3';
import { APPLICATION_ID, PREFIX, SQLITE_HEADER } from './constants';
import { toStoreError } from './errors';

/**
 * Reads the marker, version and object count (tables, indexes, views and triggers) without writing
 * anything, from one snapshot: read one by one, another process's migration could commit in
 * between and make our own database look foreign.
 */
export function readInfo(db: Database.Database) {
  return db.transaction(() => ({
    applicationId: Number(db.pragma('application_id', { simple: true })),
    userVersion: Number(db.pragma('user_version', { simple: true })),
    objects: Number(db.prepare('SELECT count(*) FROM sqlite_master').pluck().get()),
  }))();
}

/**
 * Throws unless the database is ours at a version this package knows, or empty (ours to create).
 * Called before anything is written, so a refused database is left as it was.
 */
export function checkInfo(info: ReturnType<typeof readInfo>, where: string, latest: number): void {
  if (info.applicationId === APPLICATION_ID) {
    if (info.userVersion > latest) {
      throw new StoreUnavailableError(
        `${PREFIX}: ${where} has schema version ${info.userVersion}, newer than the newest this version knows (${latest}); upgrade @canary-rollout/storage-sqlite. The database was left untouched`,
      );
    }
    return;
  }
  if (info.applicationId === 0 && info.userVersion === 0 && info.objects === 0) return;
  throw new StoreDataCorruptedError(
    `${PREFIX}: ${where} is not a canary-rollout database (application_id 0x${(info.applicationId >>> 0).toString(16).padStart(8, '0')}, user_version ${info.userVersion}, ${info.objects} schema objects). It was left untouched; point the store at another file`,
  );
}

/**
 * Looks at a database file before it is opened for writing: its header by plain reads, then its
 * marker and version through a read-only connection. Throws for anything that is not an empty
 * file or a canary-rollout database this version can use; such a file is not modified.
 */
export function inspectFile(path: string, where: string, latest: number, timeout: number) {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new StoreUnavailableError(`${PREFIX}: ${where} is not a regular file`);
    size = stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`${PREFIX}: cannot read ${where}`, { cause: error });
  }
  if (size === 0) return 'empty';
  if (readHeader(path, where) !== SQLITE_HEADER) {
    throw new StoreDataCorruptedError(
      `${PREFIX}: ${where} is not a SQLite database (its first bytes are not the SQLite header). It was left untouched`,
    );
  }
  try {
    const readonly = new Database(path, { readonly: true, fileMustExist: true, timeout });
    try {
      checkInfo(readInfo(readonly), where, latest);
    } finally {
      readonly.close();
    }
  } catch (error) {
    throw toStoreError(error, 'inspecting', where);
  }
  return 'database';
}

function readHeader(path: string, where: string): string {
  const buffer = Buffer.alloc(SQLITE_HEADER.length);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new StoreUnavailableError(`${PREFIX}: cannot read ${where}`, { cause: error });
  }
  try {
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.toString('latin1', 0, read);
  } finally {
    closeSync(fd);
  }
}
