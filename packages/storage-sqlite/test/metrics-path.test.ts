// The scenarios live with the monitor they exercise; every store runs them.
import { describeMetricsPath } from '../../monitoring/test/scenarios/metrics-path';
import { SqliteStore } from '../src/index';
import { tempDir } from './helpers/temp';

describeMetricsPath('SqliteStore', async () => {
  const temp = tempDir('metrics-path');
  const path = temp.file('rollout.db');
  return {
    handle: () => new SqliteStore({ path, pollIntervalMs: 100 }),
    cleanup: async () => temp.remove(),
  };
});
