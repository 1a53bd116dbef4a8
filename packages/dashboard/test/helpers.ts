import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RolloutStore } from '@canary-rollout/core';
import { type DashboardServer, type ServeDashboardOptions, serveDashboard } from '@canary-rollout/dashboard';
import { FileStore } from '@canary-rollout/storage-file';
import { NOW, seedStore } from './fixtures/seed';

/** A seeded file store in a fresh folder, and a second handle on it (another process, as far as the store knows). */
export async function seededFileStore(names?: { feature?: string; alert?: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-store-'));
  const open = async () => {
    const store = new FileStore({ dir, now: () => NOW, pollIntervalMs: 200 });
    await store.open();
    return store;
  };
  const store = await open();
  const seeded = await seedStore(store, names === undefined ? {} : { names });
  return {
    dir,
    store,
    ...seeded,
    /** Another handle on the same files. */
    other: open,
    async cleanup(...more: RolloutStore[]) {
      for (const s of [store, ...more]) await s.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A dashboard on 127.0.0.1 on a free port. */
export function serve(options: ServeDashboardOptions): Promise<DashboardServer> {
  return serveDashboard({ port: 0, host: '127.0.0.1', ...options });
}

/** The `Set-Cookie` value's `name=value` part. */
export function cookieOf(response: Response): string {
  const header = response.headers.get('set-cookie') ?? '';
  return header.split(';')[0] ?? '';
}
