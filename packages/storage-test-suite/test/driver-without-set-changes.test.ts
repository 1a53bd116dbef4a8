import {
  createMemoryStoreData,
  createRolloutStore,
  type DriverCommit,
  type DriverCommitResult,
  MemoryDriver,
  type MemoryEntry,
  type MemoryStoreData,
} from '@canary-rollout/core/store-kit';
import { describeDriverConformance, describeStoreConformance } from '@canary-rollout/storage-test-suite';

/** A driver written before commits could report set changes: it never does. */
class SilentSetsDriver extends MemoryDriver {
  override async commit(commit: DriverCommit): Promise<DriverCommitResult> {
    const result = await super.commit(commit);
    if (!result.committed) return result;
    return { committed: true, version: result.version };
  }
}

function damage(records: Map<string, MemoryEntry> | undefined): void {
  for (const entry of records?.values() ?? []) {
    entry.value = { ...(entry.value as object), version: 'seven', createdAt: 'yesterday' };
  }
  records?.set('garbage', { value: '{"not": json', version: 1 });
}

const store = (data: MemoryStoreData) =>
  createRolloutStore(new SilentSetsDriver(data), { name: '@acme/silent' });

describeDriverConformance(
  'a driver that does not report set changes',
  async () => {
    const data = createMemoryStoreData();
    return { driver: new SilentSetsDriver(data), peer: async () => new SilentSetsDriver(data) };
  },
  { reportsSetChanges: false },
);

describeStoreConformance('DriverStore over a driver that does not report set changes', async () => {
  const data = createMemoryStoreData();
  return {
    store: store(data),
    peer: async () => store(data),
    corrupt: async (target) => damage(data.collections.get(target)),
    wipe: async () => {
      data.collections.get('features')?.clear();
      for (const name of data.sets.keys())
        if (name === 'blacklist' || name.startsWith('beta:')) data.sets.delete(name);
      data.version = 0;
    },
  };
});
