import { type FSWatcher, watch } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreChange } from '@canary-rollout/core';
import { OPEN_READ, openNoFollow, PKG } from './fs-utils';

/** A document to watch and the counter in it that every write increases. */
export interface WatchedDocument {
  readonly path: string;
  /** `version` in rollout-config.json, `revision` in beta-users.json. */
  readonly counter: string;
  /** Reported as `StoreChange.version`. */
  readonly isStateVersion: boolean;
}

interface Known {
  signature: string;
  counter: number | undefined;
}

/**
 * Notices writes by other processes: `fs.watch` on the documents' folders for speed, and a poll
 * of cheap `stat` signatures as the fallback (`fs.watch` misses events on network file systems
 * and may be unavailable). A document whose signature moved is read for its counter; a counter
 * that differs from the last one known (seen here or written by this handle) is a change.
 */
export class ChangeWatcher {
  private readonly known = new Map<string, Known>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  private running = false;

  constructor(
    private readonly documents: readonly WatchedDocument[],
    private readonly options: {
      readonly pollIntervalMs: number;
      readonly watch: boolean;
      readonly onWarning: (message: string) => void;
      readonly onChange: (change: StoreChange) => void;
    },
  ) {}

  get active(): boolean {
    return this.running;
  }

  /** Records the documents' current counters; changes are measured from here. Call once at open. */
  async prime(): Promise<void> {
    for (const doc of this.documents) this.known.set(doc.path, await this.look(doc));
  }

  /** Starts watching and polling (only while someone listens: a short-lived CLI never pays for it). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.options.watch) this.startWatching();
    if (this.options.pollIntervalMs > 0) {
      this.timer = setInterval(() => this.schedule(0), this.options.pollIntervalMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.timer = undefined;
    this.debounce = undefined;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.checking;
  }

  /** Records a counter this handle wrote, so its own write is not reported back to it. */
  wrote(path: string, counter: number): void {
    const known = this.known.get(path);
    if (known !== undefined && (known.counter === undefined || counter > known.counter))
      known.counter = counter;
  }

  private startWatching(): void {
    for (const dir of new Set(this.documents.map((d) => dirname(d.path)))) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule(15));
        watcher.on('error', () => {
          watcher.close();
          this.watchers = this.watchers.filter((w) => w !== watcher);
        });
        this.watchers.push(watcher);
      } catch (error) {
        this.options.onWarning(
          `${PKG}: cannot watch ${dir} (${(error as { code?: string }).code ?? String(error)}); polling only`,
        );
      }
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running || this.debounce !== undefined) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (this.checking !== undefined) {
        // An event during a check may be about a write the check already passed: look again after.
        this.again = true;
        return;
      }
      this.checking = this.check().finally(() => {
        this.checking = undefined;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        }
      });
    }, delayMs);
    this.debounce.unref();
  }

  private async check(): Promise<void> {
    for (const doc of this.documents) {
      const known = this.known.get(doc.path);
      if (known === undefined || !this.running) continue;
      const signature = await signatureOf(doc.path);
      if (signature === known.signature) continue;
      const now = await this.look(doc);
      known.signature = now.signature;
      if (now.counter === known.counter) continue;
      known.counter = now.counter;
      if (!this.running) return;
      this.options.onChange(doc.isStateVersion && now.counter !== undefined ? { version: now.counter } : {});
    }
  }

  private async look(doc: WatchedDocument): Promise<Known> {
    const signature = await signatureOf(doc.path);
    let counter: number | undefined;
    try {
      const handle = await openNoFollow(doc.path, OPEN_READ);
      let text: string;
      try {
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
      const value = JSON.parse(text) as Record<string, unknown> | null;
      const found = value?.[doc.counter];
      counter = typeof found === 'number' ? found : undefined;
    } catch {
      // Missing or unreadable: the reader who reacts to the change gets the real error.
      counter = undefined;
    }
    return { signature, counter };
  }
}

async function signatureOf(path: string): Promise<string> {
  try {
    const s = await lstat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return 'missing';
  }
}
