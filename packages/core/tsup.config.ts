import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

export default defineConfig({
  ...base,
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    'store-kit': 'src/store-kit.ts',
    experiments: 'src/experiments/index.ts',
    'monitor-kit': 'src/monitor-kit.ts',
  },
});
