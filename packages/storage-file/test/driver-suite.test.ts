import { FileDriver } from '@canary-rollout/storage-file';
import { describeDriverConformance } from '@canary-rollout/storage-test-suite';
import { resolveOptions } from '../src/options';
import { tempDir } from './helpers';

// A fresh folder per test; the peer is a second driver on it, as another process holds it.
describeDriverConformance(
  'FileDriver',
  async () => {
    const temp = await tempDir('storage-file-driver-');
    const make = () =>
      new FileDriver(resolveOptions({ dir: temp.dir, pollIntervalMs: 100, onWarning: () => undefined }));
    const driver = make();
    return {
      driver,
      peer: async () => make(),
      logEntriesRead: async () => driver.logLinesRead,
      cleanup: async () => temp.remove(),
    };
  },
  { changeTimeoutMs: 5000 },
);
