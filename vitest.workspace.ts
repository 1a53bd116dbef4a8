import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// vitest 4 reads projects from a config; `npm test` passes this file with --config.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*'],
    // vitest's default is one file at a time on 2 cores (cores - 1), which leaves a core idle
    // whenever a file waits on a child process, a server or a timer, and most do.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
