import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FILE_MODE, fsyncDir, OPEN_APPEND, openNoFollow, PKG, readingFile, storeError } from './fs-utils';

/** The complete lines of a JSONL file and what was skipped. */
export interface JsonlContent {
  /** Complete lines, without their newline, blank lines left out, with their 1-based line number. */
  readonly lines: readonly { readonly text: string; readonly line: number }[];
  /** Bytes of a torn last line (a crash mid-append), skipped; 0 when the file ends cleanly. */
  readonly tornBytes: number;
  readonly size: number;
}

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;

/** Reads a JSONL file; a missing file is empty. A last line without its newline is torn. */
export function readJsonlLines(path: string): Promise<JsonlContent> {
  return readingFile(
    path,
    async (handle) => splitLines(await handle.readFile()),
    splitLines(Buffer.alloc(0)),
  );
}

/** The lines of a JSONL file's content. */
export function splitLines(buffer: Buffer): JsonlContent {
  const end = buffer.lastIndexOf(NEWLINE) + 1;
  const texts = buffer.toString('utf8', 0, end).split('\n');
  texts.pop();
  const lines = texts.flatMap((text, i) => (text.trim() === '' ? [] : [{ text, line: i + 1 }]));
  const tail = buffer.toString('utf8', end);
  // A last line that parses is whole, only its newline is missing (edited by hand): keep it.
  if (end < buffer.length && isJson(tail))
    return { lines: [...lines, { text: tail, line: texts.length + 1 }], tornBytes: 0, size: buffer.length };
  return { lines, tornBytes: buffer.length - end, size: buffer.length };
}

/** Lines back to file content. */
export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * The lines of an open file of `size` bytes, from the last back, reading a chunk at a time: so a
 * read of the newest entries touches only them. The first is what follows the last newline
 * (empty when the file ends cleanly); `start` is the byte offset of each line.
 */
export async function* linesBack(
  handle: FileHandle,
  size: number,
): AsyncGenerator<{ readonly text: string; readonly start: number }> {
  let rest = Buffer.alloc(0);
  for (let pos = size; pos > 0; ) {
    const from = Math.max(0, pos - CHUNK);
    const chunk = Buffer.alloc(pos - from);
    await handle.read(chunk, 0, chunk.length, from);
    pos = from;
    rest = Buffer.concat([chunk, rest]);
    // Lines are whole from the last newline on; the rest waits for the next chunk back.
    for (let cut = rest.lastIndexOf(NEWLINE); cut >= 0 || pos === 0; cut = rest.lastIndexOf(NEWLINE)) {
      yield { text: rest.toString('utf8', cut + 1), start: from + cut + 1 };
      if (cut < 0) return;
      rest = rest.subarray(0, cut);
    }
  }
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
    const end = Buffer.alloc(1);
    if (size > 0) await handle.read(end, 0, 1, size - 1);
    // Only a file that does not end with a newline needs its last line looked at.
    const last = size > 0 && end[0] !== NEWLINE ? (await linesBack(handle, size).next()).value : undefined;
    if (last !== undefined) {
      // A whole line that only lacks its newline is kept; a torn one is cut off.
      if (isJson(last.text)) prefix = '\n';
      else {
        await handle.truncate(last.start);
        onWarning(
          `${PKG}: ${path}: dropped a torn last line (${size - last.start} bytes) left by an interrupted write`,
        );
      }
    }
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

export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
