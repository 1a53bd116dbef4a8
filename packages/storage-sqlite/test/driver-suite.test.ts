import { describeDriverConformance } from '@canary-rollout/storage-test-suite';
import { SqliteDriver } from '../src/internal/driver';
import { resolveOptions } from '../src/options';
import { tempDir } from './helpers/temp';

// A fresh database file per test; the peer is a second connection, as another process holds.
describeDriverConformance(
  'SqliteDriver',
  async () => {
    const temp = tempDir('driver');
    const make = () =>
      new SqliteDriver(resolveOptions({ path: temp.file('rollout.db'), pollIntervalMs: 50 }));
    return {
      driver: make(),
      peer: async () => make(),
      cleanup: async () => temp.remove(),
    };
  },
  { changeTimeoutMs: 5000 },
);
