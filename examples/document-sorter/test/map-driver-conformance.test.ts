import { describeDriverConformance, describeStoreConformance } from '@canary-rollout/storage-test-suite';
import { MapDriver, MapStore, MapStoreData } from '../src/map-driver';

// #region suites
/** Damages the stored records of a collection (keeping their personal data, as real damage would). */
function damage(data: MapStoreData, collection: string): void {
  for (const [key, entry] of data.entries) {
    if (!key.startsWith(`${collection}\u0000`)) continue;
    entry.text = JSON.stringify({ ...JSON.parse(entry.text), version: 'seven', createdAt: 'later' });
  }
  data.entries.set(`${collection}\u0000garbage`, { text: '{"not": json', version: 1 });
}

describeDriverConformance('MapDriver', async () => {
  const data = new MapStoreData();
  return { driver: new MapDriver(data), peer: async () => new MapDriver(data) };
});

describeStoreConformance('MapStore', async () => {
  const data = new MapStoreData();
  return {
    store: new MapStore(data),
    peer: async () => new MapStore(data),
    corrupt: async (target) => damage(data, target),
    // Features, beta lists and blacklist lost, as a restart of a store without persistence.
    wipe: async () => {
      for (const key of data.entries.keys()) if (key.startsWith('features\u0000')) data.entries.delete(key);
      for (const name of data.sets.keys())
        if (name === 'blacklist' || name.startsWith('beta:')) data.sets.delete(name);
      data.version = 0;
    },
    // Every byte it keeps, for the erasure check: entries, logs and set members.
    atRest: async () => {
      const sets = [...data.sets].map(([name, set]) => [name, [...set.members]]);
      return Buffer.from([...data.entries, ...data.logs, ...sets].map((x) => JSON.stringify(x)).join('\n'));
    },
  };
});
// #endregion suites
