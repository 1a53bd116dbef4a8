import { afterEach, beforeEach } from 'vitest';

/** What both suites open and close: a store or a driver. */
export interface Handle {
  open(): Promise<void>;
  close(): Promise<void>;
}

/** What a harness of either suite has: its first handle, a way to make a second, its cleanup. */
export interface HandleSource<T extends Handle> {
  readonly cleanup?: () => Promise<void>;
  /** Makes another unopened handle on the same data. */
  readonly peer: () => Promise<T>;
}

/** The running test's harness, its opened first handle, and its opened peer made on first use. */
export interface Handles<H, T> {
  harness(): H;
  peer(): Promise<T>;
}

/**
 * Registers hooks that make a harness and open its first handle before each test, and close
 * every handle (even when one fails) and clean up after it. Must be called inside a `describe`.
 */
export function handlesPerTest<T extends Handle, H extends HandleSource<T>>(
  factory: () => Promise<H>,
  first: (harness: H) => T,
): Handles<H, T> {
  let harness: H | undefined;
  let peer: Promise<T> | undefined;
  const opened: T[] = [];

  beforeEach(async () => {
    harness = await factory();
    // Listed before opening: a handle whose open fails half-way is still closed.
    opened.push(first(harness));
    await first(harness).open();
  });

  afterEach(async () => {
    const current = harness;
    // A peer still opening is waited for, so it is closed too rather than leaking into the next test.
    await peer?.catch(() => undefined);
    const handles = opened.splice(0).reverse();
    harness = undefined;
    peer = undefined;
    // Every handle is closed and cleanup runs even when one of them fails; the first failure is reported.
    const failures: unknown[] = [];
    for (const handle of handles) await handle.close().catch((error: unknown) => failures.push(error));
    await current?.cleanup?.().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  });

  const active = (): H => {
    if (harness === undefined)
      throw new Error('@canary-rollout/storage-test-suite: the store exists only while a test runs');
    return harness;
  };

  return {
    harness: active,
    peer() {
      if (peer === undefined) {
        const source = active();
        peer = (async () => {
          const handle = await source.peer();
          opened.push(handle);
          await handle.open();
          return handle;
        })();
      }
      return peer;
    },
  };
}
