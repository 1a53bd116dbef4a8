import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { FileStore, layoutOf } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startChild, tempDir } from './helpers';

describe('stale lock recovery', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    temp = await tempDir('storage-file-lock-');
  });
  afterEach(async () => {
    await temp.remove();
  });

  it('lets another process take the lock within 15 s after its holder is killed with SIGKILL', async () => {
    const holder = await startChild('lock-holder.ts', [temp.dir, '2000']);
    await holder.waitFor((line) => line === 'locked');
    holder.process.kill('SIGKILL');
    await holder.exited;
    const taker = await startChild('lock-taker.ts', [temp.dir, '2000', '20000']);
    const line = await taker.waitFor((l) => l.startsWith('wrote') || l.startsWith('failed'));
    expect(line).toMatch(/^wrote \d+$/);
    expect(Number(line.split(' ')[1])).toBeLessThan(15_000);
    await taker.exited;
    expect(taker.lines.some((l) => l.includes('took over the stale lock') && l.includes('is gone'))).toBe(
      true,
    );
  }, 30_000);

  it('does not take the lock from a live holder that keeps its heartbeat', async () => {
    // The holder's heartbeat runs every 100 ms; the taker would call it stale after 400 ms of silence.
    const holder = await startChild('lock-holder.ts', [temp.dir, '400']);
    await holder.waitFor((line) => line === 'locked');
    try {
      const taker = await startChild('lock-taker.ts', [temp.dir, '400', '1500']);
      const line = await taker.waitFor((l) => l.startsWith('wrote') || l.startsWith('failed'));
      expect(line).toMatch(/^failed STORE_UNAVAILABLE \d+$/);
    } finally {
      holder.process.kill('SIGKILL');
      await holder.exited;
    }
  }, 30_000);

  it('takes over a lock whose heartbeat stopped, when its owner cannot be checked (another host)', async () => {
    const { lock, root } = layoutOf(temp.dir);
    await mkdir(root, { recursive: true });
    const owner = { pid: 1, host: 'some-other-host', token: 'elsewhere', at: 0 };
    await writeFile(lock, JSON.stringify(owner));
    const warnings: string[] = [];
    const store = new FileStore({ dir: temp.dir, lockStaleMs: 300, onWarning: (m) => warnings.push(m) });
    const started = Date.now();
    await store.open();
    // Fresh at first: waited until its heartbeat was older than lockStaleMs.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(warnings.join('\n')).toMatch(/took over the stale lock .*no heartbeat/);
    await store.addToBlacklist('x');
    await store.close();
  });

  it('takes over at once a lock with an old heartbeat, and a lock of a dead pid on this host', async () => {
    const { lock, root } = layoutOf(temp.dir);
    await mkdir(root, { recursive: true });
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'some-other-host', token: 't', at: 0 }));
    await utimes(lock, new Date(0), new Date(0));
    const store = new FileStore({ dir: temp.dir, lockTimeoutMs: 1000, onWarning: () => undefined });
    await store.open();
    await store.addToBlacklist('a');
    const { hostname } = await import('node:os');
    // Pid 2^22 + 1 is above Linux's pid_max: no such process.
    await writeFile(lock, JSON.stringify({ pid: 4_194_305, host: hostname(), token: 't2', at: Date.now() }));
    await store.addToBlacklist('b');
    expect((await store.readState()).blacklist).toEqual(['a', 'b']);
    await store.close();
  });

  it('never takes a lock from another handle of the same process', async () => {
    const warnings: string[] = [];
    const handles = Array.from(
      { length: 4 },
      () => new FileStore({ dir: temp.dir, onWarning: (m) => warnings.push(m) }),
    );
    for (const h of handles) await h.open();
    await Promise.all(
      handles.map(async (h, n) => {
        for (let i = 0; i < 40; i += 1) await h.addToBlacklist(`h${n}-${i}`);
      }),
    );
    expect((await handles[0]!.readState()).blacklist).toHaveLength(160);
    expect(warnings).toEqual([]);
    for (const h of handles) await h.close();
  });

  it('reports a lock it cannot get in time with StoreUnavailableError naming the holder', async () => {
    const { lock, root } = layoutOf(temp.dir);
    await mkdir(root, { recursive: true });
    const store = new FileStore({ dir: temp.dir, lockTimeoutMs: 200, onWarning: () => undefined });
    await store.open();
    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, host: 'some-other-host', token: 'busy', at: 0 }),
    );
    await expect(store.addToBlacklist('x')).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(/lock .* is held by pid \d+ on some-other-host; gave up after 200 ms/),
    });
    await store.close();
  });
});
