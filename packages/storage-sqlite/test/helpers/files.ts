import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** SHA-256 of a file's bytes, to show it was not modified. */
export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The files SQLite keeps beside a database, if any exist. */
export function sidecars(path: string): string[] {
  return ['-wal', '-shm', '-journal'].filter((suffix) => existsSync(`${path}${suffix}`));
}
