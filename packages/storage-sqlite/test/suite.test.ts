import { describeStoreConformance } from '@canary-rollout/storage-test-suite';
import { SqliteStore } from '../src/index';
import { corruptDatabase } from './helpers/corrupt';
import { filesAtRest } from './helpers/files-at-rest';
import { tempDir } from './helpers/temp';

// A fresh database file per test; the peer is a second connection, as another process holds.
describeStoreConformance(
  'SqliteStore',
  async () => {
    const temp = tempDir('suite');
    const path = temp.file('rollout.db');
    const make = () => new SqliteStore({ path, pollIntervalMs: 100 });
    return {
      store: make(),
      peer: async () => make(),
      corrupt: async (target) => corruptDatabase(path, target),
      atRest: () => filesAtRest(temp.dir),
      cleanup: async () => temp.remove(),
    };
  },
  { changeTimeoutMs: 5000 },
);
