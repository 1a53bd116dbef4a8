import { describeStoreConformance } from '@canary-rollout/storage-test-suite';
import Database from 'better-sqlite3';
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
      // Another connection deleted the state (a restore of an empty backup, a bad migration).
      wipe: async () => {
        const db = new Database(path);
        try {
          db.exec("DELETE FROM set_members; DELETE FROM entries WHERE collection = 'features';");
        } finally {
          db.close();
        }
      },
      cleanup: async () => temp.remove(),
    };
  },
  { changeTimeoutMs: 5000 },
);
