import { MemoryStore } from '@canary-rollout/core';
import type { MemoryEntry } from '@canary-rollout/core/store-kit';
import { describeStoreConformance } from '@canary-rollout/storage-test-suite';
import { expect, it } from 'vitest';
import { CallTimingStore } from '../src/call-timing-store';

/** Damages the stored records, keeping their personal data in place as real corruption would. */
function damage(records: Map<string, MemoryEntry> | undefined): void {
  for (const entry of records?.values() ?? [])
    entry.value = { ...(entry.value as object), version: 'seven', createdAt: 'later' };
}

// #region suite
describeStoreConformance('CallTimingStore', async () => {
  const inner = new MemoryStore();
  const onSlowCall = () => undefined;
  return {
    store: new CallTimingStore(inner, { onSlowCall }),
    peer: async () => new CallTimingStore(new MemoryStore({ data: inner.data }), { onSlowCall }),
    corrupt: async (target) => damage(inner.data.collections.get(target)),
  };
});
// #endregion suite

it('reports slow calls by operation name only', async () => {
  const slow: string[] = [];
  const store = new CallTimingStore(new MemoryStore(), {
    slowMs: -1,
    onSlowCall: (operation) => slow.push(operation),
  });
  await store.open();
  await store.registerUser({
    id: 'u1',
    email: 'jane@company.com',
    name: 'Jane Smith',
    interests: [],
    createdAt: 1,
  });
  expect(slow).toEqual(['open', 'registerUser']);
});
