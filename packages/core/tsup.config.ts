import { defineConfig } from 'tsup';
import { base, entryPoints } from '../../tsup.base';

const entry = {
  index: 'src/index.ts',
  testing: 'src/testing.ts',
  'store-kit': 'src/store-kit.ts',
  experiments: 'src/experiments/index.ts',
  'monitor-kit': 'src/monitor-kit.ts',
};

export default defineConfig({ ...base, ...entryPoints(entry) });
