import { readFile, rm, writeFile } from 'node:fs/promises';
import { FileStore } from '@canary-rollout/storage-file';
import { describeStoreConformance } from '@canary-rollout/storage-test-suite';
import { filesAtRest } from './files-at-rest';
import { tempDir } from './helpers';

// A fresh folder per test; the peer is a second handle on it, as the CLI in another process holds.
describeStoreConformance(
  'FileStore',
  async () => {
    const temp = await tempDir('storage-file-suite-');
    const make = () => new FileStore({ dir: temp.dir, pollIntervalMs: 100, onWarning: () => undefined });
    const store = make();
    return {
      store,
      peer: async () => make(),
      corrupt: async (target) => {
        const path = target === 'features' ? store.layout.config : store.layout.users;
        const doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
        // Damages the records in place, keeping their personal data, as a bad hand edit would.
        if (target === 'features') {
          for (const feature of Object.values(doc['features'] as Record<string, Record<string, unknown>>)) {
            feature['rolloutPercentage'] = 'fifty';
          }
        } else {
          for (const user of doc['users'] as Record<string, unknown>[]) user['createdAt'] = 'yesterday';
        }
        await writeFile(path, JSON.stringify(doc));
      },
      atRest: () => filesAtRest(temp.dir),
      // Someone deleted rollout-config.json (features, beta lists, blacklist).
      wipe: async () => rm(store.layout.config),
      cleanup: async () => temp.remove(),
    };
  },
  { changeTimeoutMs: 5000 },
);
