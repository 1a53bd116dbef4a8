import { MemoryStore } from '@canary-rollout/core';
import { describeStoreConformance } from '@canary-rollout/storage-test-suite';

/** Damages every stored record (keeping its personal data, as real corruption would) and adds garbage. */
function damage(records: Map<string, unknown>): void {
  for (const [key, value] of records) {
    records.set(key, { ...(value as object), version: 'seven', createdAt: 'yesterday' });
  }
  records.set('garbage', '{"not": json');
}

/** Maps and sets as arrays, so JSON shows everything they hold. */
function atRestReplacer(_key: string, value: unknown): unknown {
  return value instanceof Map || value instanceof Set ? [...value] : value;
}

describeStoreConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  const data = store.data;
  return {
    store,
    peer: async () => new MemoryStore({ data }),
    corrupt: async (target) => damage(target === 'features' ? data.features : data.users),
    atRest: async () => Buffer.from(JSON.stringify({ ...data, handles: [] }, atRestReplacer)),
    // Another handle lost everything: as a restart of a store without persistence.
    wipe: async () => {
      data.features.clear();
      data.beta.clear();
      data.blacklist.clear();
      data.version = 0;
    },
  };
});
