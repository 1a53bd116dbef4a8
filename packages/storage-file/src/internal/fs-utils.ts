import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isCanaryRolloutError, StoreDataCorruptedError, StoreUnavailableError } from '@canary-rollout/core';

/** Prefix of every message this package produces. */
export const PKG = '@canary-rollout/storage-file';

/** Mode of every file the store writes: some hold personal data, none needs more. */
export const FILE_MODE = 0o600;
/** Mode of every folder the store uses. */
export const DIR_MODE = 0o700;

/** The `code` of a Node system error, if it is one. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Errors of ours pass through; anything else from the file system becomes `StoreUnavailableError`. */
export function storeError(action: string, path: string, error: unknown): Error {
  if (isCanaryRolloutError(error)) return error;
  const code = errnoOf(error) ?? (error instanceof Error ? error.message : String(error));
  return new StoreUnavailableError(`${PKG}: cannot ${action} ${path} (${code})`, { cause: error });
}

/** `problem` starts with where in the file: `formatVersion: expected 1`. */
export function corruptedData(path: string, problem: string): StoreDataCorruptedError {
  return new StoreDataCorruptedError(`${PKG}: corrupted data in ${path}: ${problem}`);
}

/** Temporary files live beside their target so the final rename never crosses file systems. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Matches names made by `tempPathFor`, so leftovers of a crash can be found and removed. */
export const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** `missing` when `promise` fails because the file is not there (ENOENT); other errors pass. */
export async function unlessMissing<T, M>(promise: Promise<T>, missing: M): Promise<T | M> {
  try {
    return await promise;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return missing;
    throw error;
  }
}

/** `fn` on `path` opened to read (no link followed), or `missing`; fs errors are `StoreUnavailableError`. */
export async function readingFile<T>(
  path: string,
  fn: (h: FileHandle) => Promise<T>,
  missing: T,
): Promise<T> {
  const handle = await unlessMissing(openNoFollow(path, OPEN_READ), undefined).catch((error: unknown) => {
    throw storeError('read', path, error);
  });
  if (handle === undefined) return missing;
  try {
    return await fn(handle);
  } catch (error) {
    throw storeError('read', path, error);
  } finally {
    await handle.close();
  }
}

/** Makes a rename or unlink in `dir` durable. Some platforms cannot fsync a folder; that is not an error. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = errnoOf(error);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/** True when a process with this id exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM';
  }
}

/** `O_NOFOLLOW`: opening a symbolic link fails (ELOOP) instead of opening what it points to. */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/** Open flags for reading, appending and creating-for-append, none of which follow a link. */
export const OPEN_READ = constants.O_RDONLY | NO_FOLLOW;
export const OPEN_APPEND = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | NO_FOLLOW;

/**
 * The refusal for a store file that is a symbolic link. Following it would let the store read,
 * chmod, truncate or append to a file outside its folder; the link and its target are left alone.
 */
export function linkRefused(path: string): StoreUnavailableError {
  return new StoreUnavailableError(
    `${PKG}: ${path} is a symbolic link; the store never follows links and left the link and its target untouched. Replace it with a regular file`,
  );
}

/** Opens `path` without following a link (see `linkRefused`). */
export async function openNoFollow(path: string, flags: number, mode?: number): Promise<FileHandle> {
  try {
    return await open(path, flags, mode);
  } catch (error) {
    // ELOOP on Linux, EMLINK on FreeBSD, EFTYPE on NetBSD for an O_NOFOLLOW open of a link.
    const code = errnoOf(error);
    if ((code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') && (await isLink(path))) {
      throw linkRefused(path);
    }
    throw error;
  }
}

/** True when `path` itself is a symbolic link (false when it is missing). */
export async function isLink(path: string): Promise<boolean> {
  return (await unlessMissing(lstat(path), undefined))?.isSymbolicLink() ?? false;
}
