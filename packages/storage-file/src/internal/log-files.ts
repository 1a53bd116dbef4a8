import { Buffer } from 'node:buffer';
import type { LogEntry } from '@canary-rollout/core';
import { commitFiles } from './atomic-write';
import { PKG } from './fs-utils';
import { appendLine, type JsonlContent, joinLines, parseLines, readJsonlLines } from './jsonl';
import { lineOf } from './records';

/** Retention of one log. */
export interface LogRetention {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/**
 * One JSONL log with bounded retention. Appends are whole lines; every `checkEvery` appends
 * through this handle (or at once when the file passes `maxBytes`) the log is compacted to the
 * newest entries within `maxEntries` and 80 % of `maxBytes`, so it does not compact again at
 * the very next append.
 */
export class LogFile {
  private appendsSinceCheck = 0;
  private readonly checkEvery: number;

  constructor(
    readonly path: string,
    private readonly root: string,
    private readonly retention: LogRetention,
    private readonly onWarning: (message: string) => void,
  ) {
    this.checkEvery = Math.max(1, Math.min(100, Math.floor(retention.maxEntries / 10)));
  }

  /** Appends an entry; the caller holds the store lock. */
  async append(entry: LogEntry): Promise<void> {
    const size = await appendLine(this.path, JSON.stringify(entry), this.onWarning);
    this.appendsSinceCheck += 1;
    if (size <= this.retention.maxBytes && this.appendsSinceCheck < this.checkEvery) return;
    this.appendsSinceCheck = 0;
    try {
      await this.compact();
    } catch (error) {
      // The entry is written; a log that cannot be compacted (e.g. a corrupted line) is reported, not rewritten.
      this.onWarning(
        `${PKG}: did not compact ${this.path}: ${error instanceof Error ? error.message : error}`,
      );
    }
  }

  /** Entries, oldest first, at most `maxEntries` (the newest). */
  async list(warnTorn: (path: string, content: JsonlContent) => void): Promise<LogEntry[]> {
    const content = await readJsonlLines(this.path);
    warnTorn(this.path, content);
    const entries = parseLines(this.path, content, lineOf.log);
    return entries.slice(Math.max(0, entries.length - this.retention.maxEntries));
  }

  private async compact(): Promise<void> {
    const content = await readJsonlLines(this.path);
    // Validates every line first: a log holding foreign content is never rewritten.
    parseLines(this.path, content, lineOf.log);
    const budget = Math.floor(this.retention.maxBytes * 0.8);
    const kept: string[] = [];
    let bytes = 0;
    for (let i = content.lines.length - 1; i >= 0; i -= 1) {
      const text = content.lines[i]?.text ?? '';
      const size = Buffer.byteLength(text) + 1;
      if (kept.length >= this.retention.maxEntries) break;
      if (kept.length > 0 && bytes + size > budget) break;
      kept.push(text);
      bytes += size;
    }
    if (kept.length === content.lines.length && content.size <= this.retention.maxBytes) return;
    await commitFiles(this.root, [{ path: this.path, data: joinLines(kept.reverse()) }]);
  }
}
