import { createMemoryStoreData, MemoryStore } from '@canary-rollout/core';
import { describeMetricsPath } from './scenarios/metrics-path';

describeMetricsPath('MemoryStore', async () => {
  const data = createMemoryStoreData();
  return { handle: () => new MemoryStore({ data }) };
});
