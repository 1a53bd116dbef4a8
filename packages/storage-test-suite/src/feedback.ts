import { describe, expect, it } from 'vitest';
import { makeFeedback } from './internal/builders';
import type { SuiteContext } from './internal/context';

/** appendFeedback and listFeedback. */
export function describeFeedback(ctx: SuiteContext): void {
  describe('feedback', () => {
    it('lists appended feedback oldest first', async () => {
      const { store } = ctx;
      const entries = [
        makeFeedback({ rating: 5, comment: 'Très bien — 👍' }),
        makeFeedback({ feature: 'ocr', rating: 1 }),
        makeFeedback({ rating: 3 }),
      ];
      for (const entry of entries) await store.appendFeedback(entry);
      expect(await store.listFeedback()).toEqual(entries);
    });

    it('lists the feedback of one feature', async () => {
      const { store } = ctx;
      const first = makeFeedback({ feature: 'search' });
      const other = makeFeedback({ feature: 'ocr' });
      const second = makeFeedback({ feature: 'search', rating: 2 });
      for (const entry of [first, other, second]) await store.appendFeedback(entry);
      expect(await store.listFeedback('search')).toEqual([first, second]);
      expect(await store.listFeedback('ocr')).toEqual([other]);
      expect(await store.listFeedback('translate')).toEqual([]);
    });

    it('keeps feedback without a comment as it was', async () => {
      const { comment: _omitted, ...entry } = makeFeedback();
      await ctx.store.appendFeedback(entry);
      const [read] = await ctx.store.listFeedback();
      expect(read).toEqual(entry);
      expect(read?.comment).toBeUndefined();
    });

    it('shows feedback appended through both handles', async () => {
      const peer = await ctx.peer();
      const a = makeFeedback();
      const b = makeFeedback();
      await ctx.store.appendFeedback(a);
      await peer.appendFeedback(b);
      expect(await ctx.store.listFeedback()).toEqual([a, b]);
      expect(await peer.listFeedback('search')).toEqual([a, b]);
    });
  });
}
