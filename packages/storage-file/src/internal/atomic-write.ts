import { copyFile, link, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { isCanaryRolloutError, StoreDataCorruptedError } from '@canary-rollout/core';
import {
  errnoOf,
  FILE_MODE,
  fsyncDir,
  isLink,
  linkRefused,
  OPEN_READ,
  openNoFollow,
  PKG,
  TEMP_NAME,
  tempPathFor,
  unlessMissing,
} from './fs-utils';

/** One file to replace as part of a commit. */
export interface FileWrite {
  readonly path: string;
  readonly data: string;
  /** Keep the current file as `<path>.bak` before replacing it. */
  readonly backup?: boolean;
}

const JOURNAL = '.transaction.json';

/** Writes `data` to a fresh temporary file beside `target`, mode 0600, flushed to disk. */
export async function writeTemp(target: string, data: string): Promise<string> {
  const tmp = tempPathFor(target);
  const handle = await open(tmp, 'wx', FILE_MODE);
  try {
    // The create mode is filtered by the umask; chmod sets it exactly.
    await handle.chmod(FILE_MODE);
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return tmp;
}

/**
 * Replaces every file in `writes` atomically, together (the caller holds the store lock). Each new
 * content goes to a flushed temporary file first; with more than one file a journal naming the renames
 * is committed before any rename, so a crash midway is rolled forward by `recoverJournal`.
 */
export async function commitFiles(root: string, writes: readonly FileWrite[]): Promise<void> {
  const staged: { tmp: string; write: FileWrite }[] = [];
  try {
    for (const write of writes) staged.push({ tmp: await writeTemp(write.path, write.data), write });
  } catch (error) {
    await Promise.all(staged.map((s) => unlink(s.tmp).catch(() => undefined)));
    throw error;
  }
  const journal = join(root, JOURNAL);
  if (staged.length > 1) {
    const renames = staged.map((s) => ({ from: relative(root, s.tmp), to: relative(root, s.write.path) }));
    const tmp = await writeTemp(journal, `${JSON.stringify({ formatVersion: 1, renames })}\n`);
    await rename(tmp, journal);
    await fsyncDir(root);
  }
  for (const { tmp, write } of staged) {
    if (write.backup === true) await backupCurrent(write.path);
    await rename(tmp, write.path);
  }
  for (const dir of new Set(staged.map((s) => dirname(s.write.path)))) await fsyncDir(dir);
  if (staged.length > 1) await unlink(journal);
}

/**
 * Keeps the current (already validated) content of `path` as `<path>.bak`. Files are only ever
 * replaced, never changed in place, so a hard link is an exact copy at no cost.
 */
export async function backupCurrent(path: string): Promise<void> {
  const bak = `${path}.bak`;
  if (await isLink(path)) throw linkRefused(path);
  const tmp = tempPathFor(bak);
  try {
    // link() does not follow a link: if `path` became one meanwhile, `tmp` is a link too and the open below refuses it.
    await link(path, tmp);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw error;
    await copyFile(path, tmp);
  }
  try {
    const handle = await openNoFollow(tmp, OPEN_READ);
    try {
      await handle.chmod(FILE_MODE);
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    // The only error of ours openNoFollow throws is its refusal of a link: name the store's file.
    throw isCanaryRolloutError(error) ? linkRefused(path) : error;
  }
  await rename(tmp, bak);
}

/** Finishes a multi-file commit that a crash interrupted. The caller holds the store lock. */
export async function recoverJournal(root: string): Promise<void> {
  const journal = join(root, JOURNAL);
  const text = await unlessMissing(readFile(journal, 'utf8'), undefined);
  if (text === undefined) return;
  const renames = parseJournal(journal, text).map((r) => ({
    from: resolve(root, r.from),
    to: resolve(root, r.to),
  }));
  for (const { from, to } of renames) {
    // Missing: already renamed before the crash.
    await unlessMissing(rename(from, to), undefined);
  }
  for (const dir of new Set(renames.map((r) => dirname(r.to)))) await fsyncDir(dir);
  await unlink(journal);
}

function parseJournal(path: string, text: string): { from: string; to: string }[] {
  const fail = (problem: string) =>
    new StoreDataCorruptedError(
      `${PKG}: ${path} ${problem}; it was left untouched, writes are refused until it is removed`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('is not valid JSON');
  }
  const renames = (value as { renames?: unknown } | null)?.renames;
  if (!Array.isArray(renames)) throw fail('has no "renames" list');
  return renames.map((r: unknown) => {
    const { from, to } = (r ?? {}) as { from?: unknown; to?: unknown };
    // Only relative names inside the store: a foreign journal must not move files elsewhere.
    const inside = (p: unknown): p is string =>
      typeof p === 'string' && !p.startsWith('..') && !p.startsWith('/');
    if (!inside(from) || !inside(to)) throw fail('names a file outside the store');
    return { from, to };
  });
}

/** Removes temporary files left by a crashed writer. The caller holds the store lock. */
export async function removeLeftoverTemps(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (const name of await unlessMissing(readdir(dir), []))
      if (TEMP_NAME.test(name)) await unlink(join(dir, name)).catch(() => undefined);
  }
}
