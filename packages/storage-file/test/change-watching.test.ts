import type { StoreChange } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startChild, tempDir } from './helpers';

describe('changes made by other processes', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    temp = await tempDir('storage-file-watch-');
  });
  afterEach(async () => {
    await temp.remove();
  });

  it.each([
    ['fs.watch alone (polling off)', { watch: true, pollIntervalMs: 0 }],
    ['polling alone (the fallback)', { watch: false, pollIntervalMs: 50 }],
  ])('reach a running subscriber through %s', async (_, options) => {
    const store = new FileStore({ dir: temp.dir, ...options });
    await store.open();
    const listener = vi.fn<(change: StoreChange) => void>();
    store.subscribe(listener);
    const child = await startChild('peer-writer.ts', [temp.dir]);
    await child.waitFor((line) => line === 'done');
    await vi.waitFor(
      () => {
        const changes = listener.mock.calls.map(([c]) => c);
        // The feature write carries the state version; the user write comes without one.
        expect(changes.some((c) => c.version === 1)).toBe(true);
        expect(changes.some((c) => c.version === undefined)).toBe(true);
      },
      { timeout: 5000, interval: 10 },
    );
    expect((await store.readState()).features.map((f) => f.name)).toEqual(['fromChild']);
    await store.close();
  });

  it('stops listening at close, and starts only once someone subscribes', async () => {
    const store = new FileStore({ dir: temp.dir, watch: false, pollIntervalMs: 20 });
    const peer = new FileStore({ dir: temp.dir });
    const listener = vi.fn<(change: StoreChange) => void>();
    // Subscribing before open is allowed: listening starts at open.
    store.subscribe(listener);
    await store.open();
    await peer.open();
    await peer.addToBlacklist('a');
    await vi.waitFor(() => expect(listener).toHaveBeenCalledWith({ version: 1 }), {
      timeout: 5000,
      interval: 10,
    });
    await store.close();
    listener.mockClear();
    await peer.addToBlacklist('b');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(listener).not.toHaveBeenCalled();
    await peer.close();
  });
});
