import { MemoryStore } from '@canary-rollout/core';
import { createMemoryStoreData } from '@canary-rollout/core/store-kit';
import { describeMetricsPath } from './scenarios/metrics-path';

describeMetricsPath('MemoryStore', async () => {
  const data = createMemoryStoreData();
  return { handle: () => new MemoryStore({ data }) };
});
