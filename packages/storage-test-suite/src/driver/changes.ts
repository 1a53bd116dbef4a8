import type { StoreChange } from '@canary-rollout/core/store-kit';
import { describe, expect, it, vi } from 'vitest';
import type { DriverContext } from './context';

/** subscribe: commits through another handle reach this handle's listeners. */
export function describeDriverChanges(ctx: DriverContext): void {
  const heard = (listener: ReturnType<typeof vi.fn<(c: StoreChange) => void>>, version: number) =>
    vi.waitFor(
      () => {
        const changes = listener.mock.calls.map(([c]) => c);
        expect(changes.some((c) => c.version === undefined || c.version >= version)).toBe(true);
      },
      { timeout: ctx.changeTimeoutMs, interval: 5 },
    );

  describe('change notifications', () => {
    it('tells a subscriber of commits through another handle, and stops after unsubscribe', async () => {
      const peer = await ctx.peer();
      const listener = vi.fn<(c: StoreChange) => void>();
      const kept = vi.fn<(c: StoreChange) => void>();
      const unsubscribe = ctx.driver.subscribe(listener);
      const unsubscribeKept = ctx.driver.subscribe(kept);
      try {
        const first = await peer.commit({
          operations: [{ op: 'set-add', set: 'blacklist', members: ['u'] }],
        });
        expect(first.committed).toBe(true);
        await heard(listener, first.committed ? first.version : 0);
        unsubscribe();
        listener.mockClear();
        const second = await peer.commit({
          operations: [{ op: 'put', collection: 'features', key: 'f', value: 1 }],
        });
        await heard(kept, second.committed ? second.version : 0);
        await Promise.resolve();
        expect(listener).not.toHaveBeenCalled();
      } finally {
        unsubscribe();
        unsubscribeKept();
      }
    }, 30_000);

    it('keeps calling the other listeners when one throws', async () => {
      const peer = await ctx.peer();
      const failing = vi.fn<(c: StoreChange) => void>(() => {
        throw new Error('listener failed');
      });
      const kept = vi.fn<(c: StoreChange) => void>();
      const offFailing = ctx.driver.subscribe(failing);
      const offKept = ctx.driver.subscribe(kept);
      try {
        const result = await peer.commit({
          operations: [{ op: 'set-add', set: 'blacklist', members: ['u'] }],
        });
        const version = result.committed ? result.version : 0;
        await heard(failing, version);
        await heard(kept, version);
      } finally {
        offFailing();
        offKept();
      }
    }, 30_000);
  });
}
