import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const pkg = (name: string, entry = 'index.ts') => `${root}packages/${name}/src/${entry}`;

/** Tests import sibling packages from source, so no build is needed to run them. */
export const alias = {
  '@canary-rollout/core/testing': pkg('core', 'testing.ts'),
  '@canary-rollout/core/store-kit': pkg('core', 'store-kit.ts'),
  '@canary-rollout/core': pkg('core'),
  '@canary-rollout/monitoring': pkg('monitoring'),
  '@canary-rollout/storage-file': pkg('storage-file'),
  '@canary-rollout/storage-sqlite': pkg('storage-sqlite'),
  '@canary-rollout/storage-redis': pkg('storage-redis'),
  '@canary-rollout/storage-test-suite': pkg('storage-test-suite'),
  '@canary-rollout/telemetry/sdk': pkg('telemetry', 'sdk.ts'),
  '@canary-rollout/telemetry': pkg('telemetry'),
  '@canary-rollout/openfeature': pkg('openfeature'),
  '@canary-rollout/cli': pkg('cli'),
};

export function project(name: string, extra: { testTimeout?: number; fileParallelism?: boolean } = {}) {
  return defineProject({
    resolve: { alias },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: extra.testTimeout ?? 20_000,
      hookTimeout: 30_000,
      ...(extra.fileParallelism === undefined ? {} : { fileParallelism: extra.fileParallelism }),
    },
  });
}
