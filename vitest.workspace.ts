import { defineConfig } from 'vitest/config';

// vitest 4 reads projects from a config; `npm test` passes this file with --config.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*'],
  },
});
