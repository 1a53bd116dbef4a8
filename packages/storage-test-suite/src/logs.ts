import type { LogKind } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';
import { MINUTE, makeLog, T0 } from './internal/builders';
import type { SuiteContext } from './internal/context';

const KINDS: readonly LogKind[] = ['alerts', 'health-reports', 'audit'];

/** appendLog and listLogs for both logs. */
export function describeLogs(ctx: SuiteContext): void {
  describe.each(KINDS)('log %s', (kind) => {
    const entries = [0, 1, 2, 3, 4].map((m) => makeLog(T0 + m * MINUTE, { seq: m }));

    it('lists appended entries oldest first, with every field', async () => {
      const nested = makeLog(T0, { details: { p95Ms: 5400.5, users: ['a', 'b'], ok: false, note: null } });
      await ctx.store.appendLog(kind, nested);
      for (const entry of entries.slice(1)) await ctx.store.appendLog(kind, entry);
      expect(await ctx.store.listLogs(kind)).toEqual([nested, ...entries.slice(1)]);
    });

    it('lists entries with at >= since', async () => {
      for (const entry of entries) await ctx.store.appendLog(kind, entry);
      expect(await ctx.store.listLogs(kind, { since: T0 + 2 * MINUTE })).toEqual(entries.slice(2));
      expect(await ctx.store.listLogs(kind, { since: T0 + 2 * MINUTE + 1 })).toEqual(entries.slice(3));
      expect(await ctx.store.listLogs(kind, { since: T0 + 9 * MINUTE })).toEqual([]);
    });

    it('lists the newest `limit` entries, oldest first', async () => {
      for (const entry of entries) await ctx.store.appendLog(kind, entry);
      expect(await ctx.store.listLogs(kind, { limit: 2 })).toEqual(entries.slice(3));
      expect(await ctx.store.listLogs(kind, { limit: 1 })).toEqual(entries.slice(4));
      expect(await ctx.store.listLogs(kind, { limit: 50 })).toEqual(entries);
    });

    it('combines since and limit', async () => {
      for (const entry of entries) await ctx.store.appendLog(kind, entry);
      expect(await ctx.store.listLogs(kind, { since: T0 + MINUTE, limit: 2 })).toEqual(entries.slice(3));
      expect(await ctx.store.listLogs(kind, { since: T0 + 3 * MINUTE, limit: 10 })).toEqual(entries.slice(3));
    });

    it('keeps the two logs apart', async () => {
      const other = KINDS.find((k) => k !== kind) ?? kind;
      await ctx.store.appendLog(kind, entries[0]!);
      await ctx.store.appendLog(other, entries[1]!);
      expect(await ctx.store.listLogs(kind)).toEqual([entries[0]]);
      expect(await ctx.store.listLogs(other)).toEqual([entries[1]]);
    });

    it('shows entries appended through both handles', async () => {
      const peer = await ctx.peer();
      await ctx.store.appendLog(kind, entries[0]!);
      await peer.appendLog(kind, entries[1]!);
      expect(await peer.listLogs(kind)).toEqual(entries.slice(0, 2));
      expect(await ctx.store.listLogs(kind)).toEqual(entries.slice(0, 2));
    });
  });
}
