import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  errnoOf,
  FILE_MODE,
  fsyncDir,
  OPEN_APPEND,
  OPEN_READ,
  openNoFollow,
  PKG,
  storeError,
} from './fs-utils';

/** The complete lines of a JSONL file and what was skipped. */
export interface JsonlContent {
  /** Complete lines, without their newline, blank lines left out, with their 1-based line number. */
  readonly lines: readonly { readonly text: string; readonly line: number }[];
  /** Bytes of a torn last line (a crash mid-append), skipped; 0 when the file ends cleanly. */
  readonly tornBytes: number;
  readonly size: number;
}

const NEWLINE = 0x0a;

/** Reads a JSONL file; a missing file is empty. A last line without its newline is torn. */
export async function readJsonlLines(path: string): Promise<JsonlContent> {
  let buffer: Buffer;
  try {
    const handle = await openNoFollow(path, OPEN_READ);
    try {
      buffer = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return { lines: [], tornBytes: 0, size: 0 };
    throw storeError('read', path, error);
  }
  const end = buffer.lastIndexOf(NEWLINE) + 1;
  let tornBytes = buffer.length - end;
  const lines: { text: string; line: number }[] = [];
  const texts = buffer.toString('utf8', 0, end).split('\n');
  texts.pop();
  texts.forEach((text, i) => {
    if (text.trim() !== '') lines.push({ text, line: i + 1 });
  });
  // A last line that parses is whole, only its newline is missing (edited by hand): keep it.
  if (tornBytes > 0) {
    const tail = buffer.toString('utf8', end);
    if (isJson(tail)) {
      lines.push({ text: tail, line: texts.length + 1 });
      tornBytes = 0;
    }
  }
  return { lines, tornBytes, size: buffer.length };
}

/** Lines back to file content. */
export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Appends one line with a single write on an O_APPEND descriptor, so concurrent appenders never
 * interleave within a line, then flushes it. A torn last line left by a crash is cut off first
 * (with a warning), so it cannot glue onto the new line. Returns the file size after the write.
 * The caller holds the store lock.
 */
export async function appendLine(
  path: string,
  line: string,
  onWarning: (message: string) => void,
): Promise<number> {
  let handle: FileHandle | undefined;
  try {
    handle = await openNoFollow(path, OPEN_APPEND, FILE_MODE);
    // Tightens a file created by someone else, or under a umask that filtered the create mode.
    await handle.chmod(FILE_MODE);
    const size = (await handle.stat()).size;
    let prefix = '';
    if (size > 0) prefix = await repairTail(handle, path, size, onWarning);
    const data = Buffer.from(`${prefix}${line}\n`, 'utf8');
    const { bytesWritten } = await handle.write(data, 0, data.length);
    if (bytesWritten !== data.length) {
      throw new Error(`short write (${bytesWritten} of ${data.length} bytes)`);
    }
    await handle.datasync();
    if (size === 0) await fsyncDir(dirname(path));
    return (await handle.stat()).size;
  } catch (error) {
    throw storeError('append to', path, error);
  } finally {
    await handle?.close();
  }
}

/** Returns what to write before the next line: nothing, or a newline for a whole last line. */
async function repairTail(
  handle: FileHandle,
  path: string,
  size: number,
  onWarning: (message: string) => void,
): Promise<string> {
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === NEWLINE) return '';
  // Find where the torn line starts; lines are small, so read back in chunks.
  const chunk = 64 * 1024;
  let start = 0;
  for (let pos = size; pos > 0; pos -= chunk) {
    const from = Math.max(0, pos - chunk);
    const buffer = Buffer.alloc(pos - from);
    await handle.read(buffer, 0, buffer.length, from);
    const at = buffer.lastIndexOf(NEWLINE);
    if (at >= 0) {
      start = from + at + 1;
      break;
    }
  }
  const tail = Buffer.alloc(size - start);
  await handle.read(tail, 0, tail.length, start);
  if (isJson(tail.toString('utf8'))) return '\n';
  await handle.truncate(start);
  onWarning(`${PKG}: ${path}: dropped a torn last line (${size - start} bytes) left by an interrupted write`);
  return '';
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
