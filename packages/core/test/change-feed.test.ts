import {
  ChangeFeed,
  type ChangeFeedHooks,
  type ChangeFeedOptions,
  type ChangeFeedTransport,
  orTimeout,
  settlesWithin,
} from '@canary-rollout/core/store-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** A promise with its resolve and reject at hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A transport whose every step is recorded in `steps` and can be held or failed. */
class FakeTransport implements ChangeFeedTransport {
  hooks: ChangeFeedHooks | undefined;
  readonly steps: string[];
  /** What the next `listen` calls do, in turn; a call with none left succeeds at once. */
  readonly listens: (() => Promise<void>)[] = [];
  ping: () => Promise<void> = () => Promise.resolve();

  constructor(steps: string[]) {
    this.steps = steps;
  }

  async listen(hooks: ChangeFeedHooks): Promise<void> {
    this.hooks = hooks;
    this.steps.push('listen');
    await this.listens.shift()?.();
    this.steps.push('listening');
  }

  drop(): void {
    this.steps.push('drop');
  }

  async close(): Promise<void> {
    this.steps.push('close');
  }
}

interface Harness {
  readonly feed: ChangeFeed;
  readonly transport: FakeTransport;
  readonly steps: string[];
  readonly notified: [number, string | undefined][];
  readonly checked: number[];
  readonly errors: unknown[];
  /** The stored version `readVersion` answers with (or the error it rejects with). */
  version: number | Error;
}

function harness(options: Partial<ChangeFeedOptions> = {}): Harness {
  const steps: string[] = [];
  const transport = new FakeTransport(steps);
  const h: Harness = {
    transport,
    steps,
    notified: [],
    checked: [],
    errors: [],
    version: 0,
    feed: new ChangeFeed({
      transport,
      readVersion: async () => {
        steps.push('read');
        if (h.version instanceof Error) throw h.version;
        return h.version;
      },
      onNotified: (version, origin) => h.notified.push([version, origin]),
      onChecked: (version) => h.checked.push(version),
      onError: (error) => h.errors.push(error),
      pollIntervalMs: 0,
      timeoutMs: 100,
      ...options,
    }),
  };
  return h;
}

describe('ChangeFeed (core state machine over a fake transport)', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    vi.useFakeTimers();
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    vi.useRealTimers();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled.splice(0)).toEqual([]);
  });

  it('subscribes on start and passes notifications on with their origin', async () => {
    const h = harness();
    await h.feed.start();
    expect(h.feed.listening).toBe(true);
    h.transport.hooks?.notified(4, 'other');
    h.transport.hooks?.notified(5, undefined);
    expect(h.notified).toEqual([
      [4, 'other'],
      [5, undefined],
    ]);
    expect(h.steps).toEqual(['listen', 'listening']);
  });

  it('rejects when the first subscription fails, and retries nothing after stop', async () => {
    const h = harness();
    h.transport.listens.push(() => Promise.reject(new Error('refused')));
    await expect(h.feed.start()).rejects.toThrow('refused');
    await h.feed.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.steps).toEqual(['listen', 'close']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stopped while the first subscription is under way: neither polls nor counts as listening', async () => {
    const h = harness({ pollIntervalMs: 100 });
    const held = deferred();
    h.transport.listens.push(() => held.promise);
    const started = h.feed.start();
    await h.feed.stop();
    held.resolve();
    await started;
    expect(h.feed.listening).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.steps).toEqual(['listen', 'close', 'listening']);
    expect(vi.getTimerCount()).toBe(0);
  });

  describe('reconnect', () => {
    it('subscribes again and only then reads the version, reporting it as checked', async () => {
      const h = harness();
      await h.feed.start();
      h.version = 7;
      h.transport.hooks?.lost();
      expect(h.feed.listening).toBe(false);
      await vi.advanceTimersByTimeAsync(20);
      expect(h.steps).toEqual(['listen', 'listening', 'listen', 'listening', 'read']);
      expect(h.checked).toEqual([7]);
      expect(h.feed.listening).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('retries a failed subscription with a growing delay, without reporting the outage', async () => {
      const h = harness({ backoffMs: [10, 100] });
      await h.feed.start();
      for (let i = 0; i < 3; i++) h.transport.listens.push(() => Promise.reject(new Error('down')));
      h.transport.hooks?.lost();
      await vi.advanceTimersByTimeAsync(10);
      expect(h.steps.filter((s) => s === 'listen')).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(99);
      expect(h.steps.filter((s) => s === 'listen')).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.steps.filter((s) => s === 'listen')).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(200);
      expect(h.steps.slice(-3)).toEqual(['listen', 'listening', 'read']);
      expect(h.checked).toEqual([0]);
      expect(h.errors).toEqual([]);
    });

    it('keeps reading the version after a reconnect until a read succeeds, without reporting the outage', async () => {
      const h = harness({ backoffMs: [10] });
      await h.feed.start();
      h.version = new Error('read timed out');
      h.transport.hooks?.lost();
      await vi.advanceTimersByTimeAsync(35);
      expect(h.steps.filter((s) => s === 'read').length).toBeGreaterThanOrEqual(3);
      expect(h.errors).toEqual([]);
      expect(h.checked).toEqual([]);
      h.version = 12;
      await vi.advanceTimersByTimeAsync(10);
      expect(h.checked).toEqual([12]);
      // One subscription for all those reads: it held.
      expect(h.steps.filter((s) => s === 'listen')).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1000);
      expect(h.checked).toEqual([12]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('backs off from the first delay again once a subscription holds', async () => {
      const h = harness({ backoffMs: [10, 100, 1000] });
      await h.feed.start();
      for (let i = 0; i < 2; i++) h.transport.listens.push(() => Promise.reject(new Error('down')));
      h.version = new Error('read failed');
      h.transport.hooks?.lost();
      // Listens at 10 (fails), 110 (fails), 1110 (holds; the read fails).
      await vi.advanceTimersByTimeAsync(1110);
      expect(h.steps.filter((s) => s === 'listening')).toHaveLength(2);
      expect(h.steps.at(-1)).toBe('read');
      h.version = 4;
      await vi.advanceTimersByTimeAsync(10);
      expect(h.checked).toEqual([4]);
    });

    it('does not trust a subscription that was lost while it was being made', async () => {
      const h = harness();
      await h.feed.start();
      const held = deferred();
      h.transport.listens.push(() => held.promise);
      h.transport.hooks?.lost();
      await vi.advanceTimersByTimeAsync(20);
      h.transport.hooks?.lost();
      held.resolve();
      await vi.advanceTimersByTimeAsync(0);
      expect(h.steps).not.toContain('read');
      await vi.advanceTimersByTimeAsync(50);
      expect(h.steps.slice(2)).toEqual(['listen', 'listening', 'listen', 'listening', 'read']);
      expect(h.feed.listening).toBe(true);
    });

    it('checks the version when the subscription was lost while start was subscribing', async () => {
      const h = harness();
      const held = deferred();
      h.transport.listens.push(() => held.promise);
      const started = h.feed.start();
      await vi.advanceTimersByTimeAsync(0);
      h.transport.hooks?.lost();
      held.resolve();
      await started;
      expect(h.feed.listening).toBe(false);
      h.version = 3;
      await vi.advanceTimersByTimeAsync(20);
      expect(h.steps).toEqual(['listen', 'listening', 'listen', 'listening', 'read']);
      expect(h.checked).toEqual([3]);
    });
  });

  describe('close during a reconnect', () => {
    it('while subscribing: closes, reads nothing and schedules nothing once the attempt ends', async () => {
      const h = harness({ pollIntervalMs: 50 });
      await h.feed.start();
      const held = deferred();
      h.transport.listens.push(() => held.promise);
      h.transport.hooks?.lost();
      await vi.advanceTimersByTimeAsync(20);
      const reads = h.steps.filter((s) => s === 'read').length;
      await h.feed.stop();
      held.resolve();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(h.steps.filter((s) => s === 'read')).toHaveLength(reads);
      expect(h.steps.filter((s) => s === 'listen')).toHaveLength(2);
      expect(h.steps.at(-2)).toBe('close');
      expect(h.feed.listening).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('while reading the version: reports nothing of it', async () => {
      const transport = new FakeTransport([]);
      const read = deferred<number>();
      let reading = false;
      const reported: unknown[] = [];
      const feed = new ChangeFeed({
        transport,
        readVersion: () => {
          reading = true;
          return read.promise;
        },
        onNotified: () => {},
        onChecked: (version) => reported.push(version),
        onError: (error) => reported.push(error),
        pollIntervalMs: 0,
        timeoutMs: 100,
      });
      await feed.start();
      transport.hooks?.lost();
      await vi.advanceTimersByTimeAsync(20);
      expect(reading).toBe(true);
      await feed.stop();
      read.resolve(8);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(reported).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('while waiting to retry: the retry never runs, and a later loss is ignored', async () => {
      const h = harness({ backoffMs: [1000] });
      await h.feed.start();
      h.transport.hooks?.lost();
      await h.feed.stop();
      expect(vi.getTimerCount()).toBe(0);
      h.transport.hooks?.lost();
      h.transport.hooks?.notified(9, undefined);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(h.steps).toEqual(['listen', 'listening', 'close']);
      expect(h.notified).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe('polling fallback', () => {
    it('reads the version every interval and pings the connection', async () => {
      const h = harness({ pollIntervalMs: 100 });
      let pings = 0;
      h.transport.ping = async () => {
        pings++;
      };
      await h.feed.start();
      h.version = 1;
      await vi.advanceTimersByTimeAsync(100);
      h.version = 2;
      await vi.advanceTimersByTimeAsync(100);
      expect(h.checked).toEqual([1, 2]);
      expect(pings).toBe(2);
    });

    it('drops a connection that does not answer a ping in time, subscribes again and checks', async () => {
      const h = harness({ pollIntervalMs: 1000, timeoutMs: 100 });
      await h.feed.start();
      h.transport.ping = () => new Promise(() => {});
      h.version = 5;
      await vi.advanceTimersByTimeAsync(1000 + 100);
      h.transport.ping = () => Promise.resolve();
      await vi.advanceTimersByTimeAsync(20);
      expect(h.steps).toEqual(['listen', 'listening', 'drop', 'read', 'listen', 'listening', 'read']);
      expect(h.checked).toEqual([5, 5]);
      expect(h.feed.listening).toBe(true);
    });

    it('treats a ping that fails as a silent connection too', async () => {
      const h = harness({ pollIntervalMs: 100 });
      await h.feed.start();
      h.transport.ping = () => Promise.reject(new Error('reset'));
      await vi.advanceTimersByTimeAsync(100);
      expect(h.steps).toContain('drop');
      expect(h.errors).toEqual([]);
    });

    it('does not ping while away, and reports a failed periodic read', async () => {
      const h = harness({ pollIntervalMs: 100, backoffMs: [60_000] });
      let pings = 0;
      h.transport.ping = async () => {
        pings++;
      };
      await h.feed.start();
      h.transport.hooks?.lost();
      const failure = new Error('no answer');
      h.version = failure;
      await vi.advanceTimersByTimeAsync(100);
      expect(pings).toBe(0);
      expect(h.errors).toEqual([failure]);
    });

    it('does not start a read while the last one is still waiting', async () => {
      let reads = 0;
      const feed = new ChangeFeed({
        transport: new FakeTransport([]),
        readVersion: () => {
          reads++;
          return new Promise<number>(() => {});
        },
        onNotified: () => {},
        onChecked: () => {},
        pollIntervalMs: 100,
        timeoutMs: 100,
      });
      await feed.start();
      await vi.advanceTimersByTimeAsync(1000);
      expect(reads).toBe(1);
      await feed.stop();
    });

    it('polls not at all at pollIntervalMs 0', async () => {
      const h = harness({ pollIntervalMs: 0 });
      await h.feed.start();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(h.steps).toEqual(['listen', 'listening']);
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe('a throwing listener', () => {
    it('cannot throw into the transport: the error is reported and later notifications still arrive', async () => {
      const errors: unknown[] = [];
      const heard: number[] = [];
      const transport = new FakeTransport([]);
      const feed = new ChangeFeed({
        transport,
        readVersion: async () => 0,
        onNotified: (version) => {
          heard.push(version);
          if (version === 1) throw new Error('listener failed');
        },
        onChecked: () => {},
        onError: (error) => errors.push(error),
        pollIntervalMs: 0,
        timeoutMs: 100,
      });
      await feed.start();
      expect(() => transport.hooks?.notified(1, undefined)).not.toThrow();
      transport.hooks?.notified(2, undefined);
      expect(heard).toEqual([1, 2]);
      expect(errors).toEqual([new Error('listener failed')]);
    });

    it('stops neither polling nor reconnecting, even when the error receiver throws as well', async () => {
      let checks = 0;
      const transport = new FakeTransport([]);
      const feed = new ChangeFeed({
        transport,
        readVersion: async () => 1,
        onNotified: () => {},
        onChecked: () => {
          checks++;
          throw new Error('listener failed');
        },
        onError: () => {
          throw new Error('receiver failed');
        },
        pollIntervalMs: 100,
        timeoutMs: 50,
      });
      await feed.start();
      await vi.advanceTimersByTimeAsync(300);
      expect(checks).toBe(3);
      transport.hooks?.lost();
      await vi.advanceTimersByTimeAsync(20);
      expect(checks).toBe(4);
      expect(feed.listening).toBe(true);
      // The check after the reconnect counted as done: no retry loop.
      await vi.advanceTimersByTimeAsync(50);
      expect(checks).toBe(4);
      await feed.stop();
    });
  });
});

describe('settlesWithin and orTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('settlesWithin: true in time, false late, and the promise error when it rejects in time', async () => {
    await expect(settlesWithin(Promise.resolve(1), 10)).resolves.toBe(true);
    const late = settlesWithin(new Promise(() => {}), 10);
    await vi.advanceTimersByTimeAsync(10);
    await expect(late).resolves.toBe(false);
    await expect(settlesWithin(Promise.reject(new Error('refused')), 10)).rejects.toThrow('refused');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('orTimeout: the value in time, the given error when late, and a late rejection ignored', async () => {
    await expect(orTimeout(Promise.resolve(7), 10, () => new Error('late'))).resolves.toBe(7);
    const slow = deferred<number>();
    const bounded = orTimeout(slow.promise, 10, () => new Error('no answer within 10 ms'));
    const outcome = bounded.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10);
    expect(await outcome).toEqual(new Error('no answer within 10 ms'));
    slow.reject(new Error('closed'));
    await vi.advanceTimersByTimeAsync(0);
  });
});
