import type { Redis } from 'ioredis';
import { expect } from 'vitest';

/** The commands `action` sends, as MONITOR on `admin`'s server sees them (not those run inside scripts). */
export async function commandsOf(admin: Redis, action: () => Promise<unknown>): Promise<string[]> {
  const monitor = await admin.monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!source.includes('lua')) seen.push(String(args[0]).toLowerCase());
  });
  try {
    // MONITOR only shows commands issued after it started; a PING marks that point.
    await admin.ping('start');
    await expect.poll(() => seen.includes('ping'), { timeout: 2000 }).toBe(true);
    seen.length = 0;
    await action();
    await admin.ping('end');
    await expect.poll(() => seen.at(-1), { timeout: 2000 }).toBe('ping');
    return seen.slice(0, -1);
  } finally {
    monitor.disconnect();
  }
}
