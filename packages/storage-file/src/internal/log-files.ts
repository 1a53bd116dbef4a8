import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { InvalidArgumentError, StoreDataCorruptedError } from '@canary-rollout/core/store-kit';
import { commitFiles, type FileWrite } from './atomic-write';
import { errnoOf, OPEN_READ, openNoFollow, PKG, storeError } from './fs-utils';
import { appendLine, type JsonlContent, joinLines, readJsonlLines } from './jsonl';

/** One entry of an append. */
export interface LogLine {
  readonly at: number;
  readonly entry: unknown;
}

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;
/** A log's name is its file's name: letters, digits and `-` only. */
const LOG_NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The JSONL logs under `logs/`, one `<name>.jsonl` each, one entry a line (the entry as given: its
 * time is its `at`). Appends are whole lines on an O_APPEND descriptor; a log past its `retain`
 * or `maxBytes` is compacted to the newest entries within both (80 % of `maxBytes`, so it does
 * not compact again at the very next append). Reads walk back from the end and stop as soon as
 * the query is answered.
 */
export class LogFiles {
  /** Lines parsed by reads since the handle was made (for the driver suite's read bound). */
  linesRead = 0;
  /** Per log, what this handle knows of the file after its last append: its size and lines. */
  private readonly known = new Map<string, { size: number; count: number }>();

  constructor(
    private readonly root: string,
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly onWarning: (message: string) => void,
    private readonly warnTorn: (path: string, content: { tornBytes: number; size: number }) => void,
  ) {}

  path(log: string): string {
    if (!LOG_NAME.test(log)) throw new InvalidArgumentError(`${PKG}: unknown log "${log}"`);
    return join(this.dir, `${log}.jsonl`);
  }

  /** The text of each line: the entry, which must carry its time as `at`. */
  static lineOf(log: string, line: LogLine): string {
    const at = (line.entry as { at?: unknown } | null)?.at;
    if (typeof line.entry !== 'object' || line.entry === null || at !== line.at) {
      throw new InvalidArgumentError(
        `${PKG}: an entry of log "${log}" must be an object whose "at" is the append's time (${line.at}); JSONL lines keep their time there`,
      );
    }
    return JSON.stringify(line.entry);
  }

  /** Appends lines (one write) and compacts when due. The caller holds the store lock. */
  async append(log: string, lines: readonly LogLine[], retain: number): Promise<void> {
    const path = this.path(log);
    const texts = lines.map((l) => LogFiles.lineOf(log, l));
    const data = texts.join('\n');
    const size = await appendLine(path, data, this.onWarning);
    const before = this.known.get(log);
    let count: number;
    if (before !== undefined && before.size + Buffer.byteLength(data) + 1 === size)
      count = before.count + texts.length;
    // Another handle appended meanwhile (or a torn line was cut): count again.
    else count = (await readJsonlLines(path)).lines.length;
    this.known.set(log, { size, count });
    if (count <= retain && size <= this.maxBytes) return;
    try {
      await this.compact(log, retain);
    } catch (error) {
      // The entry is written; a log that cannot be compacted (a damaged line) is reported, not rewritten.
      this.onWarning(`${PKG}: did not compact ${path}: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** The whole log with `lines` appended and retention applied, to be written by a journalled commit. */
  async rewrite(log: string, lines: readonly LogLine[], retain: number): Promise<FileWrite> {
    const path = this.path(log);
    const content = await this.checked(path);
    const texts = [...content.lines.map((l) => l.text), ...lines.map((l) => LogFiles.lineOf(log, l))];
    this.known.delete(log);
    return { path, data: joinLines(this.newest(texts, retain)) };
  }

  private async compact(log: string, retain: number): Promise<void> {
    const path = this.path(log);
    const content = await this.checked(path);
    const kept = this.newest(
      content.lines.map((l) => l.text),
      retain,
    );
    this.known.delete(log);
    if (kept.length === content.lines.length && content.size <= this.maxBytes) return;
    await commitFiles(this.root, [{ path, data: joinLines(kept) }]);
  }

  /** The newest lines within `retain` and 80 % of `maxBytes` (at least one). */
  private newest(texts: readonly string[], retain: number): string[] {
    const budget = Math.floor(this.maxBytes * 0.8);
    const kept: string[] = [];
    let bytes = 0;
    for (let i = texts.length - 1; i >= 0 && kept.length < retain; i -= 1) {
      const text = texts[i] ?? '';
      const size = Buffer.byteLength(text) + 1;
      if (kept.length > 0 && bytes + size > budget) break;
      kept.push(text);
      bytes += size;
    }
    return kept.reverse();
  }

  /** Every line, each checked to be an entry with a time: foreign content is never rewritten. */
  private async checked(path: string): Promise<JsonlContent> {
    const content = await readJsonlLines(path);
    for (const { text, line } of content.lines)
      timeOf(parseLine(path, text, `line ${line}`), path, `line ${line}`);
    return content;
  }

  /** Entries oldest first: of those with `at >= since`, the newest `limit`. */
  async read(
    log: string,
    since = Number.NEGATIVE_INFINITY,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<unknown[]> {
    const path = this.path(log);
    let handle: Awaited<ReturnType<typeof openNoFollow>>;
    try {
      handle = await openNoFollow(path, OPEN_READ);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return [];
      throw storeError('read', path, error);
    }
    try {
      const size = (await handle.stat()).size;
      const out: unknown[] = [];
      let end = size;
      let carry = Buffer.alloc(0);
      let tail = true;
      for (let pos = size; pos > 0 && out.length < limit; ) {
        const from = Math.max(0, pos - CHUNK);
        const chunk = Buffer.alloc(pos - from);
        await handle.read(chunk, 0, chunk.length, from);
        pos = from;
        let data = Buffer.concat([chunk, carry]);
        let cut = data.lastIndexOf(NEWLINE);
        // Lines are whole from the last newline on; the rest waits for the next chunk back.
        while (out.length < limit && (cut >= 0 || pos === 0)) {
          const start = cut + 1;
          const text = data.toString('utf8', start).trim();
          const lineStart = from + start;
          data = data.subarray(0, Math.max(cut, 0));
          if (text !== '') {
            const entry = await this.lineValue(path, handle, text, lineStart, tail, end);
            if (entry !== SKIP) {
              const time = (entry as { at?: unknown } | null)?.at;
              if (typeof time !== 'number' || Number.isNaN(time)) {
                timeOf(entry, path, `line ${await lineNumber(handle, lineStart)}`);
              }
              if ((time as number) < since) return out.reverse();
              out.push(entry);
            }
          }
          tail = false;
          end = lineStart;
          if (cut < 0) break;
          cut = data.lastIndexOf(NEWLINE);
        }
        carry = data;
      }
      return out.reverse();
    } finally {
      await handle.close();
    }
  }

  /** A line's entry; a torn last line (a crash mid-append) is skipped with a warning. */
  private async lineValue(
    path: string,
    handle: Awaited<ReturnType<typeof openNoFollow>>,
    text: string,
    start: number,
    last: boolean,
    end: number,
  ): Promise<unknown> {
    this.linesRead += 1;
    try {
      return JSON.parse(text);
    } catch {
      // Only the last line can lack its newline: that is a torn append, not damage.
      if (last) {
        this.warnTorn(path, { tornBytes: end - start, size: end });
        return SKIP;
      }
      throw new StoreDataCorruptedError(
        `${PKG}: ${path} line ${await lineNumber(handle, start)} is not valid JSON. The file was left untouched`,
      );
    }
  }
}

const SKIP = Symbol('skip');

/** The 1-based number of the line starting at byte `start`. Only called for few lines. */
async function lineNumber(handle: Awaited<ReturnType<typeof openNoFollow>>, start: number): Promise<number> {
  let lines = 1;
  const buffer = Buffer.alloc(CHUNK);
  for (let pos = 0; pos < start; pos += CHUNK) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, start - pos), pos);
    for (let i = 0; i < bytesRead; i++) if (buffer[i] === NEWLINE) lines += 1;
  }
  return lines;
}

function parseLine(path: string, text: string, at: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StoreDataCorruptedError(`${PKG}: ${path} ${at} is not valid JSON. The file was left untouched`);
  }
}

function timeOf(entry: unknown, path: string, at: string): number {
  const time = (entry as { at?: unknown } | null)?.at;
  if (typeof time !== 'number' || Number.isNaN(time)) {
    throw new StoreDataCorruptedError(
      `${PKG}: corrupted data in ${path} ${at}: at: expected the entry's time (a number). The file was left untouched`,
    );
  }
  return time;
}
