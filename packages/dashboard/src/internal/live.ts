import type { ServerResponse } from 'node:http';
import type { RolloutStore } from '@canary-rollout/core';
import { fingerprint } from './data';

/**
 * Pushes `change` to every open event stream when the store changes. Store notifications come
 * first where the store has them; polling the state version and the newest log entries catches
 * what they do not cover (alerts, audit entries, health reports, stores without notifications).
 * Nothing runs while no page is open.
 */
export class ChangeFeed {
  private readonly clients = new Set<ServerResponse>();
  private readonly waiting = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private last: string | undefined;
  private polling = false;
  private again = false;
  private seq = 0;

  constructor(
    private readonly store: RolloutStore,
    private readonly pollIntervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Adds an event stream; it is removed when the client goes away. */
  add(res: ServerResponse): void {
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      this.waiting.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    // `hello` once the feed has looked at the store: a change after it is reported.
    if (this.last !== undefined) this.hello(res);
    else this.waiting.add(res);
    if (this.timer === undefined) this.start();
  }

  private hello(res: ServerResponse): void {
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ seq: this.seq })}\n\n`);
  }

  /** Tells every page to reload its data now (after an action made here), with the state version when known. */
  notify(version?: number): void {
    this.seq++;
    const frame = `event: change\ndata: ${JSON.stringify(version === undefined ? { seq: this.seq } : { seq: this.seq, version })}\n\n`;
    for (const res of this.clients) if (!this.waiting.has(res)) res.write(frame);
  }

  /** Ends every stream and stops polling. */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.waiting.clear();
    this.stop();
  }

  private start(): void {
    // The store knows of a change: tell the pages now; the poll then takes the new fingerprint
    // (and may tell them once more, which a page folds into the reload it is doing).
    this.unsubscribe = this.store.subscribe((change) => {
      if (this.last !== undefined) this.notify(change.version);
      void this.poll();
    });
    this.timer = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.timer.unref();
    // A comment now and then keeps proxies from closing an idle stream.
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) res.write(': keep-alive\n\n');
    }, 15_000);
    this.heartbeat.unref();
    void this.poll();
  }

  private stop(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.last = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) {
      // A look is under way and may have read the store before this change: look again after it.
      this.again = true;
      return;
    }
    this.polling = true;
    try {
      const next = await fingerprint(this.store);
      if (this.last !== undefined && next.key !== this.last) this.notify(next.version);
      this.last = next.key;
    } catch (error) {
      this.onError(error);
      // Pages still hear of changes this process makes; the next poll tries the store again.
      this.last ??= '';
    } finally {
      this.polling = false;
      for (const res of this.waiting) this.hello(res);
      this.waiting.clear();
      if (this.again && this.timer !== undefined) {
        this.again = false;
        void this.poll();
      }
    }
  }
}
