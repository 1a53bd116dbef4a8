import { MemoryStore } from '@canary-rollout/core';
import type { MemoryEntry } from '@canary-rollout/core/store-kit';
import { describeStoreConformance } from '@canary-rollout/storage-test-suite';

/** Damages every stored record (keeping its personal data, as real corruption would) and adds garbage. */
function damage(records: Map<string, MemoryEntry> | undefined): void {
  for (const entry of records?.values() ?? []) {
    entry.value = { ...(entry.value as object), version: 'seven', createdAt: 'yesterday' };
  }
  records?.set('garbage', { value: '{"not": json', version: 1 });
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
    corrupt: async (target) => damage(data.collections.get(target)),
    atRest: async () => Buffer.from(JSON.stringify({ ...data, handles: [] }, atRestReplacer)),
    // Another handle lost everything: as a restart of a store without persistence.
    wipe: async () => {
      data.collections.get('features')?.clear();
      for (const name of data.sets.keys())
        if (name === 'blacklist' || name.startsWith('beta:')) data.sets.delete(name);
      data.version = 0;
    },
  };
});
