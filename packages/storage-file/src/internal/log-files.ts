import { Buffer } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, StoreDataCorruptedError } from '@canary-rollout/core/store-kit';
import { layoutOf } from '../layout';
import type { ResolvedFileStoreOptions } from '../options';
import { commitFiles, type FileWrite } from './atomic-write';
import { PKG, readingFile } from './fs-utils';
import { appendLine, isJson, type JsonlContent, joinLines, linesBack, readJsonlLines } from './jsonl';

/** One entry of an append. */
export type LogLine = { readonly at: number; readonly entry: unknown };

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

  private readonly dir: string;

  constructor(
    private readonly options: ResolvedFileStoreOptions,
    private readonly warnTorn: (path: string, content: { tornBytes: number; size: number }) => void,
  ) {
    this.dir = layoutOf(options.dir).logsDir;
  }

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
    const size = await appendLine(path, data, this.options.onWarning);
    const before = this.known.get(log);
    // Counted again when another handle appended meanwhile (or a torn line was cut).
    const count =
      before !== undefined && before.size + Buffer.byteLength(data) + 1 === size
        ? before.count + texts.length
        : (await readJsonlLines(path)).lines.length;
    this.known.set(log, { size, count });
    if (count <= retain && size <= this.options.maxLogBytes) return;
    try {
      const content = await this.checked(path);
      const kept = this.newest(
        content.lines.map((l) => l.text),
        retain,
      );
      this.known.delete(log);
      if (kept.length < content.lines.length || content.size > this.options.maxLogBytes)
        await commitFiles(this.options.dir, [{ path, data: joinLines(kept) }]);
    } catch (error) {
      // The entry is written; a log that cannot be compacted (a damaged line) is reported, not rewritten.
      this.options.onWarning(
        `${PKG}: did not compact ${path}: ${error instanceof Error ? error.message : error}`,
      );
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

  /** The newest lines within `retain` and 80 % of `maxBytes` (at least one). */
  private newest(texts: readonly string[], retain: number): string[] {
    const budget = Math.floor(this.options.maxLogBytes * 0.8);
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
    for (const { text, line } of content.lines) await entryIn(path, text, async () => line);
    return content;
  }

  /** Entries oldest first: of those with `at >= since`, the newest `limit`. */
  async read(
    log: string,
    since = Number.NEGATIVE_INFINITY,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<unknown[]> {
    const path = this.path(log);
    const read = async (handle: FileHandle) => {
      const size = (await handle.stat()).size;
      const out: unknown[] = [];
      let last = true;
      for await (const { text, start } of linesBack(handle, size)) {
        if (out.length >= limit) break;
        const tail = last;
        last = false;
        if (text.trim() === '') continue;
        this.linesRead += 1;
        // Only the last line can lack its newline: that is a torn append, not damage.
        if (tail && !isJson(text)) {
          this.warnTorn(path, { tornBytes: size - start, size });
          continue;
        }
        const entry = await entryIn(path, text, () => lineNumber(handle, start));
        if (entry.at < since) break;
        out.push(entry);
      }
      return out.reverse();
    };
    return readingFile(path, read, []);
  }
}

/** The 1-based number of the line starting at byte `start`. Only called for few lines. */
async function lineNumber(handle: FileHandle, start: number): Promise<number> {
  let lines = 1;
  const buffer = Buffer.alloc(64 * 1024);
  for (let pos = 0; pos < start; pos += buffer.length) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, start - pos), pos);
    for (let i = 0; i < bytesRead; i++) if (buffer[i] === 0x0a) lines += 1;
  }
  return lines;
}

/** A log line's entry, which must carry its time; `line` is only counted for a damaged line. */
async function entryIn(path: string, text: string, line: () => Promise<number>): Promise<{ at: number }> {
  const untouched = 'The file was left untouched';
  let entry: { at?: unknown } | null;
  try {
    entry = JSON.parse(text) as typeof entry;
  } catch {
    throw new StoreDataCorruptedError(`${PKG}: ${path} line ${await line()} is not valid JSON. ${untouched}`);
  }
  if (typeof entry?.at !== 'number' || Number.isNaN(entry.at)) {
    throw new StoreDataCorruptedError(
      `${PKG}: corrupted data in ${path} line ${await line()}: at: expected the entry's time (a number). ${untouched}`,
    );
  }
  return entry as { at: number };
}
