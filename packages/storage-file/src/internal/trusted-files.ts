import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { errnoOf, OPEN_READ, openNoFollow } from './fs-utils';

/** How many files are remembered; metric shards come and go, so the map is bounded. */
const LIMIT = 1000;

function signature(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/**
 * Remembers the identity (inode, size, change times) of document versions this handle validated
 * or wrote itself. Documents are only ever replaced, never changed in place, so a file with the
 * same identity has the same content and need not be validated again: validating a large metrics
 * document costs far more than reading it.
 */
export class TrustedFiles {
  private readonly known = new Map<string, string>();

  /** Reads a file and its identity from one descriptor; `undefined` when it does not exist. */
  async read(path: string): Promise<{ text: string; trusted: boolean; signature: string } | undefined> {
    let handle: Awaited<ReturnType<typeof openNoFollow>>;
    try {
      handle = await openNoFollow(path, OPEN_READ);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const sig = signature(await handle.stat({ bigint: true }));
      const text = await handle.readFile('utf8');
      return { text, trusted: this.known.get(path) === sig, signature: sig };
    } finally {
      await handle.close();
    }
  }

  /** The identity of what is at `path` now (`missing` when nothing is). */
  async signatureOf(path: string): Promise<string> {
    try {
      return signature(await lstat(path, { bigint: true }));
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return 'missing';
      throw error;
    }
  }

  /** Marks a version as validated. */
  trust(path: string, sig: string): void {
    if (this.known.size >= LIMIT) this.known.clear();
    this.known.set(path, sig);
  }

  /** Marks what is at `path` now (just written under the lock, from validated data) as validated. */
  async trustCurrent(path: string): Promise<void> {
    try {
      this.trust(path, signature(await lstat(path, { bigint: true })));
    } catch {
      this.known.delete(path);
    }
  }
}
