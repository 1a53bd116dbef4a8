import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { readingFile } from './fs-utils';

/** How many files are remembered; metric shards come and go, so the map is bounded. */
const LIMIT = 1000;

function signatureOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/**
 * The decoded contents of the file versions this handle read or wrote, by their identity (inode,
 * size, change times). Files are only ever replaced, never changed in place, so a file with the
 * same identity has the same content and is neither read nor validated again: validating a large
 * metrics document costs far more than reading it. Values are shared: copy one before changing it.
 */
export class DecodedFiles {
  private readonly known = new Map<string, { signature: string; value: unknown }>();

  /** The decoded content of `path` (identity and content read from one descriptor), or `missing`. */
  async read<T>(path: string, decode: (content: Buffer) => T | Promise<T>, missing: T): Promise<T> {
    const found = await readingFile(
      path,
      async (handle) => {
        const signature = signatureOf(await handle.stat({ bigint: true }));
        const known = this.known.get(path);
        return known?.signature === signature ? known : { signature, content: await handle.readFile() };
      },
      undefined,
    );
    if (found === undefined) return missing;
    if (!('content' in found)) return found.value as T;
    const value = await decode(found.content);
    this.remember(path, found.signature, value);
    return value;
  }

  /** Remembers `value` as the content of what is at `path` now (just written under the lock). */
  async wrote(path: string, value: unknown): Promise<void> {
    try {
      this.remember(path, signatureOf(await lstat(path, { bigint: true })), value);
    } catch {
      this.known.delete(path);
    }
  }

  private remember(path: string, sig: string, value: unknown): void {
    if (this.known.size >= LIMIT) this.known.clear();
    this.known.set(path, { signature: sig, value });
  }
}
