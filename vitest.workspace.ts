import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// vitest 4 reads projects from a config; `npm test` passes this file with --config.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*'],
    // vitest's default is one file at a time on 2 cores (cores - 1), which leaves a core idle
    // whenever a file waits on a child process, a server or a timer, and most do; one worker per
    // core still left one idle while those waited. The store projects (35 files) under a load of
    // 10-15 on two cores: 138 and 96 s with 2 workers, 106 and 74 s with 3.
    maxWorkers: availableParallelism() + 1,
  },
});
