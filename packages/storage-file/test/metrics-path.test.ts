import { FileStore } from '@canary-rollout/storage-file';
// The scenarios live with the monitor they exercise; every store runs them.
import { describeMetricsPath } from '../../monitoring/test/scenarios/metrics-path';
import { tempDir } from './helpers';

describeMetricsPath('FileStore', async () => {
  const temp = await tempDir('storage-file-metrics-path-');
  return {
    handle: () => new FileStore({ dir: temp.dir, pollIntervalMs: 100, onWarning: () => undefined }),
    cleanup: () => temp.remove(),
  };
});
