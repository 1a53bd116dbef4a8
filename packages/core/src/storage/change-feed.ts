/**
 * What a `ChangeFeed` is told by its transport. The hooks stay the same object for the feed's
 * life, so a transport may keep the one it was first given.
 */
export interface ChangeFeedHooks {
  /** A change notification arrived, naming the version and, where the transport carries it, its origin. */
  notified(version: number, origin?: string): void;
  /**
   * The subscription is gone (the connection closed, or came back without it): the feed listens
   * again and then reads the version, so a change notified meanwhile is not missed.
   */
  lost(): void;
}

/** The connection a `ChangeFeed` listens on: the only part that differs between stores. */
export interface ChangeFeedTransport {
  /**
   * Connects when needed and subscribes. Resolves once a change committed from then on will be
   * notified, so that a version read afterwards misses nothing; rejects when that fails (the feed
   * calls it again later). Never called while a previous call is pending.
   */
  listen(hooks: ChangeFeedHooks): Promise<void>;
  /** Resolves when the listening connection answers; the feed gives it `timeoutMs`. */
  ping(): Promise<void>;
  /** Throws the listening connection away (it stopped answering); the feed listens again. */
  drop(): void;
  /** Closes the connection for good; a `listen` still pending must not leave one open. */
  close(): Promise<void>;
}

/** What a `ChangeFeed` needs from its store. */
export interface ChangeFeedOptions {
  readonly transport: ChangeFeedTransport;
  /** Reads the stored version (through the store's command connection, within its own timeout). */
  readonly readVersion: () => Promise<number>;
  /** A version named by a notification. */
  readonly onNotified: (version: number, origin: string | undefined) => void;
  /** A version read after a reconnect or on a poll: changes in between may have been missed. */
  readonly onChecked: (version: number) => void;
  /**
   * Receives what failed in the background: a periodic version read (the store may restart a
   * stalled command connection) or a throwing `onNotified`/`onChecked`. What fails while the feed
   * recovers from a loss (subscribing, the version read after it) is not reported: it is the
   * outage still going on, and the feed retries it.
   */
  readonly onError?: (error: unknown) => void;
  /** How often the version is read and the listening connection pinged; 0 turns both off. */
  readonly pollIntervalMs: number;
  /** Bound for a ping. */
  readonly timeoutMs: number;
  /** Delays between attempts to listen again (and to read the version after that); the last repeats. */
  readonly backoffMs?: readonly number[];
}

const BACKOFF_MS: readonly number[] = [20, 50, 100, 250, 500, 1000, 2000];

/**
 * Hears the changes of other handles over a transport (pub/sub, `LISTEN`, ...). Notifications sent
 * while the transport is away are lost, so after every reconnect the feed subscribes again and
 * then reads the stored version; when that read fails it is retried until it succeeds. A poll
 * reads the version and pings the connection, catching a connection that went silent without
 * closing (a half-open TCP connection would otherwise hear nothing until the OS gives up on it).
 */
export class ChangeFeed {
  private stopped = false;
  private subscribed = false;
  /** A version read is owed since the last (re)subscription. */
  private unchecked = false;
  /** Counts losses, so an attempt knows whether one happened while it was under way. */
  private losses = 0;
  /** Failed attempts since the last success, for the backoff. */
  private attempt = 0;
  /** A start or recovery is under way (at most one at a time). */
  private busy = false;
  private polling = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private readonly hooks: ChangeFeedHooks = {
    notified: (version, origin) => {
      if (!this.stopped) this.deliver(() => this.options.onNotified(version, origin));
    },
    lost: () => this.lost(),
  };

  constructor(private readonly options: ChangeFeedOptions) {}

  /** True while subscribed. */
  get listening(): boolean {
    return this.subscribed;
  }

  /** Subscribes and starts polling; rejects when the first subscription fails (call `stop` then). */
  async start(): Promise<void> {
    const losses = this.losses;
    this.busy = true;
    try {
      await this.options.transport.listen(this.hooks);
    } finally {
      this.busy = false;
    }
    if (this.stopped) return;
    if (this.losses === losses) this.subscribed = true;
    else this.schedule();
    if (this.options.pollIntervalMs > 0) {
      this.pollTimer = setInterval(() => void this.poll(), this.options.pollIntervalMs);
      this.pollTimer.unref?.();
    }
  }

  /** Stops polling and retrying and closes the transport. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.subscribed = false;
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    await this.options.transport.close();
  }

  private lost(): void {
    if (this.stopped) return;
    this.losses++;
    this.subscribed = false;
    this.unchecked = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.busy || this.retryTimer !== undefined) return;
    const backoff = this.options.backoffMs ?? BACKOFF_MS;
    const delay = backoff[Math.min(this.attempt, backoff.length - 1)] ?? 0;
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.recover();
    }, delay);
    this.retryTimer.unref?.();
  }

  /** Subscribes again where needed, then reads the version; schedules another try until both held. */
  private async recover(): Promise<void> {
    if (this.stopped) return;
    this.busy = true;
    const losses = this.losses;
    try {
      if (!this.subscribed) {
        await this.options.transport.listen(this.hooks);
        // Lost again while subscribing: that subscription cannot be trusted.
        if (this.stopped || this.losses !== losses) return;
        this.subscribed = true;
        // The outage is over: a failing read below backs off from the start again.
        this.attempt = 0;
      }
      const version = await this.options.readVersion();
      if (this.stopped || this.losses !== losses) return;
      this.unchecked = false;
      this.attempt = 0;
      this.deliver(() => this.options.onChecked(version));
    } catch {
      // The outage is still going on: the next attempt (or a poll) tells.
    } finally {
      this.busy = false;
      if (!this.subscribed || this.unchecked) this.schedule();
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      if (this.subscribed) {
        const losses = this.losses;
        if (!(await answers(this.options.transport.ping(), this.options.timeoutMs))) {
          if (this.stopped || this.losses !== losses) return;
          this.options.transport.drop();
          this.lost();
        }
      }
      const version = await this.options.readVersion();
      if (!this.stopped) this.deliver(() => this.options.onChecked(version));
    } catch (error) {
      if (!this.stopped) this.report(error);
    } finally {
      this.polling = false;
    }
  }

  /** Runs a callback of the store: what it throws must not stop the feed or reach the transport. */
  private deliver(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A failing error receiver has nowhere left to report to.
    }
  }
}

/** True when `promise` resolves within `ms`; false when it rejects or takes longer. */
function answers(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return settlesWithin(promise, ms).catch(() => false);
}

/**
 * Resolves true when `promise` settles within `ms`, false otherwise; rejects with its error. The
 * timer does not keep the process alive.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    timer.unref?.();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Settles like `promise` when it settles within `ms`; otherwise rejects with `onTimeout()` (a
 * late rejection of `promise` is then ignored). The timer does not keep the process alive.
 */
export async function orTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (await settlesWithin(promise, ms)) return promise;
  throw onTimeout();
}
