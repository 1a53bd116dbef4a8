import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import { base, zodMembersOnly } from '../../tsup.base';

/**
 * `node:http` and `node:https` (with tls and net) cost a command about 8 ms to load, and only the
 * webhook notifier and `metrics` use them: the bin loads them when first called.
 */
const lazyHttp: Plugin = {
  name: 'lazy-http',
  setup(build) {
    build.onResolve({ filter: /^node:https?$/ }, (args) => ({ path: args.path, namespace: 'lazy-http' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-http' }, (args) => ({
      // Only the functions the bundle calls: a new import from these modules fails the build
      // ("No matching export") rather than the command.
      contents: [
        "import { createRequire } from 'node:module';",
        'let loaded;',
        `const load = () => (loaded ??= createRequire(import.meta.url)(${JSON.stringify(args.path)}));`,
        'export const request = (...a) => load().request(...a);',
        'export const createServer = (...a) => load().createServer(...a);',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

export default defineConfig([
  // dist/ is emptied by the build script: two configs cleaning it would race.
  { ...base, entry: { index: 'src/index.ts' }, clean: false },
  {
    // The `rollout-manager` command in one file with core, the monitor's reader, the file store and
    // zod: compiling one file costs a fraction of resolving and compiling the ~100 modules it would
    // otherwise load, which is most of a command's start-up (`npm run bench -- cli`). The SQLite
    // and Redis stores stay separate packages, imported only when named.
    ...base,
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    // esbuild's own tree shaking is enough here: tsup's extra Rollup pass over the bundle cost
    // about 1.3 s of CPU and removed 0.6 % of it.
    treeshake: false,
    noExternal: [
      '@canary-rollout/core',
      '@canary-rollout/monitoring',
      '@canary-rollout/storage-file',
      'zod',
      'eventemitter3',
    ],
    esbuildPlugins: [zodMembersOnly, lazyHttp],
    // Kept, so lazyHttp sees `node:http` (tsup would otherwise resolve it as external first).
    removeNodeProtocol: false,
    // Before any of the bundle runs, since zod reads it as each schema is built. A command parses
    // a few documents once: compiling a fast path for each object schema costs more than it saves.
    // (The bin's own process only; it changes no result.)
    banner: { js: 'globalThis.__zod_globalConfig ??= { jitless: true };' },
    // Whitespace and syntax only: names stay, so a stack trace still reads. (Mangling names too
    // saved 25 % of the size and no measurable start-up time.)
    minifyWhitespace: true,
    minifySyntax: true,
  },
]);
