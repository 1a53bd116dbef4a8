import { type FSWatcher, watch } from 'node:fs';
import type { ResolvedFileStoreOptions } from '../options';
import { PKG } from './fs-utils';

/**
 * Notices writes by other processes: `fs.watch` on the documents' folders for speed, and a poll
 * as the fallback (`fs.watch` misses events on network file systems and may be unavailable).
 * Both only schedule `check` (the driver compares the documents' counters), never twice at once.
 */
export class ChangeWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  /** Started and not stopped: a check that ends after `stop` reports nothing. */
  active = false;

  constructor(
    private readonly dirs: readonly string[],
    private readonly options: Pick<ResolvedFileStoreOptions, 'pollIntervalMs' | 'watch' | 'onWarning'>,
    private readonly check: () => Promise<void>,
  ) {}

  /** Starts watching and polling (only while someone listens: a short-lived CLI never pays for it). */
  start(): void {
    if (this.active) return;
    this.active = true;
    if (this.options.watch) this.startWatching();
    if (this.options.pollIntervalMs > 0) {
      this.timer = setInterval(() => this.schedule(0), this.options.pollIntervalMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.active = false;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.debounce = undefined;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.checking;
  }

  private startWatching(): void {
    for (const dir of this.dirs) {
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
    if (!this.active || this.debounce !== undefined) return;
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
}
