import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { defineConfig } from 'tsup';
import { base, entryPoints } from '../../tsup.base';

const require = createRequire(import.meta.url);

export default defineConfig({
  ...base,
  ...entryPoints({ index: 'src/index.ts' }),
  // The handler finds its assets beside its own file, in both module formats.
  shims: true,
  async onSuccess() {
    // Everything the page loads ships in the package: our files and uPlot's, copied at build time.
    mkdirSync('dist/assets', { recursive: true });
    for (const file of readdirSync('assets')) copyFileSync(join('assets', file), join('dist/assets', file));
    copyFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'dist/assets/uPlot.iife.min.js');
    copyFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'dist/assets/uPlot.min.css');
  },
});
