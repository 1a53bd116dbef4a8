import type { DriverLog } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import type { DriverContext } from './context';

const entry = (at: number) => ({ at, note: `entry ${at}` });

/** Logs: append order, retention, since and limit, and reading only what is asked. */
export function describeDriverLogs(ctx: DriverContext): void {
  const append = (log: DriverLog, ats: readonly number[], retain = 1000) =>
    ctx.driver.commit({
      operations: ats.map((at) => ({ op: 'append' as const, log, at, entry: entry(at), retain })),
    });

  describe('logs', () => {
    it('reads entries oldest first, each log apart, an unknown log as empty', async () => {
      await append('alerts', [1, 2]);
      await append('audit', [3]);
      await append('alerts', [4]);
      expect(await ctx.driver.readLog('alerts')).toEqual([entry(1), entry(2), entry(4)]);
      expect(await ctx.driver.readLog('audit')).toEqual([entry(3)]);
      expect(await ctx.driver.readLog('health-reports')).toEqual([]);
      expect(await ctx.driver.readLog('added-later' as DriverLog)).toEqual([]);
    });

    it('keeps the newest `retain` entries', async () => {
      await append('audit', [1, 2, 3], 3);
      await append('audit', [4, 5], 3);
      expect(await ctx.driver.readLog('audit')).toEqual([entry(3), entry(4), entry(5)]);
      await append('audit', [6], 1);
      const peer = await ctx.peer();
      expect(await peer.readLog('audit')).toEqual([entry(6)]);
    });

    it('selects by since, by limit, and by both', async () => {
      await append('alerts', [10, 20, 30, 40, 50]);
      const read = (query: { since?: number; limit?: number }) => ctx.driver.readLog('alerts', query);
      expect(await read({ since: 30 })).toEqual([entry(30), entry(40), entry(50)]);
      expect(await read({ since: 31 })).toEqual([entry(40), entry(50)]);
      expect(await read({ since: 51 })).toEqual([]);
      expect(await read({ limit: 2 })).toEqual([entry(40), entry(50)]);
      expect(await read({ limit: 0 })).toEqual([]);
      expect(await read({ limit: 50 })).toHaveLength(5);
      expect(await read({ since: 20, limit: 2 })).toEqual([entry(40), entry(50)]);
      expect(await read({ since: 40, limit: 10 })).toEqual([entry(40), entry(50)]);
    });

    it('reads only what a query selects, not the whole log', async (test) => {
      const counter = ctx.logEntriesRead;
      if (counter === undefined) return test.skip();
      const total = 500;
      for (let start = 0; start < total; start += 100) {
        await append(
          'health-reports',
          Array.from({ length: 100 }, (_, i) => start + i),
        );
      }
      // Room for drivers that read in pages or parse one line beyond what they return.
      const slack = 64;
      for (const [query, selected] of [
        [{ limit: 3 }, 3],
        [{ since: total - 5 }, 5],
        [{ since: total - 50, limit: 2 }, 2],
      ] as const) {
        const before = await counter();
        const got = await ctx.driver.readLog('health-reports', query);
        const read = (await counter()) - before;
        expect(got).toHaveLength(selected);
        expect(read, JSON.stringify(query)).toBeLessThanOrEqual(selected + slack);
      }
    });
  });
}
