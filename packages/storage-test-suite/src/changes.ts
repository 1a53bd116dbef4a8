import type { RolloutStore, StoreChange } from '@canary-rollout/core';
import { describe, expect, it, vi } from 'vitest';
import { makeFeature, makeRollback, makeUser } from './internal/builders';
import type { SuiteContext } from './internal/context';

interface ChangeCase {
  readonly name: string;
  /** Brings the data to where `write` can run; not observed. */
  readonly setup?: (peer: RolloutStore) => Promise<unknown>;
  readonly write: (peer: RolloutStore) => Promise<unknown>;
}

const CASES: readonly ChangeCase[] = [
  { name: 'putFeature', write: (peer) => peer.putFeature(makeFeature(), null) },
  {
    name: 'addBetaMember',
    setup: (peer) => peer.putFeature(makeFeature(), null),
    write: (peer) => peer.addBetaMember('search', 'user-1'),
  },
  { name: 'addToBlacklist', write: (peer) => peer.addToBlacklist('user-1') },
  {
    name: 'rollback',
    setup: (peer) => peer.putFeature(makeFeature({ rolloutPercentage: 50 }), null),
    write: (peer) => peer.rollback('search', makeRollback()),
  },
  { name: 'registerUser', write: (peer) => peer.registerUser(makeUser()) },
];

/** subscribe: changes made through another handle reach the store's listeners. */
export function describeChanges(ctx: SuiteContext): void {
  const timeout = ctx.options.changeTimeoutMs;
  // Room for the wait itself plus the writes around it.
  const testTimeout = timeout * 2 + 5000;

  /**
   * Waits until `listener` heard of a change at or after `version`. Changes without a version
   * count; earlier versions (late news of the setup) do not.
   */
  const heard = (listener: ReturnType<typeof vi.fn<(change: StoreChange) => void>>, version: number) =>
    vi.waitFor(
      () => {
        const calls = listener.mock.calls.map(([change]) => change);
        expect(calls.some((c) => c.version === undefined || c.version >= version)).toBe(true);
      },
      { timeout, interval: 5 },
    );

  describe('change notifications', () => {
    it.each(CASES)(
      'tells a subscriber of $name through another handle',
      async (c) => {
        const peer = await ctx.peer();
        await c.setup?.(peer);
        const listener = vi.fn<(change: StoreChange) => void>();
        const unsubscribe = ctx.store.subscribe(listener);
        try {
          await c.write(peer);
          const version = (await peer.readState()).version;
          await heard(listener, version);
        } finally {
          unsubscribe();
        }
      },
      testTimeout,
    );

    it(
      'stops calling a listener after unsubscribe, and keeps calling the others',
      async () => {
        const peer = await ctx.peer();
        const gone = vi.fn<(change: StoreChange) => void>();
        const kept = vi.fn<(change: StoreChange) => void>();
        const unsubscribeGone = ctx.store.subscribe(gone);
        const unsubscribeKept = ctx.store.subscribe(kept);
        try {
          await peer.putFeature(makeFeature(), null);
          await heard(kept, (await peer.readState()).version);
          await heard(gone, (await peer.readState()).version);

          unsubscribeGone();
          gone.mockClear();
          await peer.addToBlacklist('user-1');
          const version = (await peer.readState()).version;
          await heard(kept, version);
          // Both listeners hear of a change in the same dispatch, so `gone` would have been called by now.
          await Promise.resolve();
          expect(gone).not.toHaveBeenCalled();
        } finally {
          unsubscribeKept();
        }
      },
      testTimeout,
    );

    it(
      'lets a listener whose promise rejects neither stop the others nor go unhandled',
      async () => {
        const peer = await ctx.peer();
        // A plain async function, as an app would write one (a mock would handle its promise itself).
        let rejected = 0;
        const rejecting = (async () => {
          rejected += 1;
          throw new Error('listener failed');
        }) as unknown as (change: StoreChange) => void;
        const kept = vi.fn<(change: StoreChange) => void>();
        const offRejecting = ctx.store.subscribe(rejecting);
        const offKept = ctx.store.subscribe(kept);
        try {
          await peer.addToBlacklist('user-1');
          const version = (await peer.readState()).version;
          await heard(kept, version);
          expect(rejected).toBeGreaterThan(0);
          // Time for an unhandled rejection to surface, which vitest reports as a failure.
          await new Promise((resolve) => setTimeout(resolve, 20));
        } finally {
          offRejecting();
          offKept();
        }
      },
      testTimeout,
    );

    it(
      'keeps calling the other listeners when one throws',
      async () => {
        const peer = await ctx.peer();
        const failing = vi.fn<(change: StoreChange) => void>(() => {
          throw new Error('listener failed');
        });
        const kept = vi.fn<(change: StoreChange) => void>();
        const unsubscribeFailing = ctx.store.subscribe(failing);
        const unsubscribeKept = ctx.store.subscribe(kept);
        try {
          await peer.addToBlacklist('user-1');
          const version = (await peer.readState()).version;
          await heard(failing, version);
          await heard(kept, version);
        } finally {
          unsubscribeFailing();
          unsubscribeKept();
        }
      },
      testTimeout,
    );
  });
}
